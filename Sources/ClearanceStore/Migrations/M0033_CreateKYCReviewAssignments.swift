import SQLKit

/// Who is working a KYC version under review (at most one person), as
/// `review_assignments` does for sessions.
struct M0033_CreateKYCReviewAssignments: Migration {
    let version = 33
    let name = "create_kyc_review_assignments"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "kyc_review_assignments")
            .column("version_id", type: .text, .primaryKey(autoIncrement: false), .references("kyc_versions", "id"))
            .column("user_id", type: .text, .notNull, .references("console_users", "id"))
            .column("assigned_at", type: .bigint, .notNull)
            .run()
    }
}
