import SQLKit

/// KYC users, their versioned profiles and reviewers' action requests
/// (`kyc-profiles.md`). Personal fields are sealed with the user's own key
/// (`wrapped_key`), so deleting it shreds the user's data.
struct M0010_CreateKYC: Migration {
    let version = 10
    let name = "create_kyc"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "kyc_users")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("environment", type: .text, .notNull)
            .column("external_id", type: .text)
            .column("wrapped_key", type: .blob, .notNull)
            // {email, firstName, lastName} as the user was created.
            .column("personal_sealed", type: .blob, .notNull)
            // The profile: its approved version, the names synced from it, and whether the user must act.
            .column("approved_version_id", type: .text)
            .column("profile_names_sealed", type: .blob)
            .column("needs_update", type: .int, .notNull)
            .column("event_sequence", type: .bigint, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .run()
        try await sql.create(index: "kyc_users_external_id").unique().on("kyc_users")
            .column("environment").column("external_id").run()
        try await sql.create(index: "kyc_users_by_created").on("kyc_users")
            .column("environment").column("created_at").run()

        try await sql.create(table: "kyc_versions")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("user_id", type: .text, .notNull, .references("kyc_users", "id"))
            .column("version_number", type: .int, .notNull)
            .column("status", type: .text, .notNull)
            .column("data_sealed", type: .blob, .notNull)
            .column("required_fields_json", type: .text, .notNull)
            .column("content_hash", type: .text)
            .column("created_at", type: .bigint, .notNull)
            .column("submitted_at", type: .bigint)
            .column("submitted_by", type: .text)
            .column("reviewed_at", type: .bigint)
            .column("reviewed_by", type: .text)
            .column("review_outcome", type: .text)
            .column("review_notes", type: .text)
            .column("rejection_reason", type: .text)
            // Blind index of nationalId+country while the version is the approved one.
            .column("approved_identity", type: .text)
            .run()
        try await sql.create(index: "kyc_versions_number").unique().on("kyc_versions")
            .column("user_id").column("version_number").run()
        try await sql.create(index: "kyc_versions_approved_identity").unique().on("kyc_versions")
            .column("approved_identity").run()
        // One open draft per user.
        try await sql.raw("CREATE UNIQUE INDEX kyc_versions_one_draft ON kyc_versions (user_id) WHERE status = 'draft'").run()

        try await sql.create(table: "kyc_action_requests")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("user_id", type: .text, .notNull, .references("kyc_users", "id"))
            .column("version_id", type: .text, .notNull, .references("kyc_versions", "id"))
            .column("status", type: .text, .notNull)
            .column("reason", type: .text, .notNull)
            .column("required_fields_json", type: .text, .notNull)
            .column("due_at", type: .bigint)
            .column("requested_at", type: .bigint, .notNull)
            .column("requested_by", type: .text, .notNull)
            .column("resolved_at", type: .bigint)
            .run()
        try await sql.create(index: "kyc_action_requests_by_user").on("kyc_action_requests")
            .column("user_id").column("status").run()
        // The expiry sweep; the WHERE text matches its query.
        try await sql.raw("CREATE INDEX kyc_action_requests_due ON kyc_action_requests (due_at) WHERE status = 'open'").run()

        try await sql.create(table: "kyc_documents")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("version_id", type: .text, .notNull, .references("kyc_versions", "id"))
            .column("user_id", type: .text, .notNull, .references("kyc_users", "id"))
            .column("type", type: .text, .notNull)
            .column("file_name_sealed", type: .blob, .notNull)
            .column("mime_type", type: .text, .notNull)
            .column("size", type: .bigint, .notNull)
            .column("sha256", type: .text, .notNull)
            .column("content_sealed", type: .blob, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .run()
        try await sql.create(index: "kyc_documents_by_version").on("kyc_documents").column("version_id").run()
    }
}
