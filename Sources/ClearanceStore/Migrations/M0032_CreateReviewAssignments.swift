import SQLKit

/// Who is working a session in review (at most one person), and a first
/// approval waiting for a second reviewer under four-eyes.
struct M0032_CreateReviewAssignments: Migration {
    let version = 32
    let name = "create_review_assignments"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "review_assignments")
            .column("session_id", type: .text, .primaryKey(autoIncrement: false), .references("sessions", "session_id"))
            .column("user_id", type: .text, .notNull, .references("console_users", "id"))
            .column("assigned_at", type: .bigint, .notNull)
            .run()
        try await sql.create(table: "review_first_approvals")
            .column("session_id", type: .text, .primaryKey(autoIncrement: false), .references("sessions", "session_id"))
            .column("user_id", type: .text, .notNull, .references("console_users", "id"))
            .column("comment", type: .text)
            .column("event_sequence", type: .bigint, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .run()
    }
}
