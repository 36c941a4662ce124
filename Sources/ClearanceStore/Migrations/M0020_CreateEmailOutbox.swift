import SQLKit

/// The email outbox: one row per message to the person being verified,
/// written in the same transaction as the change that causes it, then
/// claimed (with a lease) and sent by the email delivery workers.
struct M0020_CreateEmailOutbox: Migration {
    let version = 20
    let name = "create_email_outbox"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "email_outbox")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("environment", type: .text, .notNull)
            .column("kind", type: .text, .notNull)
            // The session it is about (sealed with that session's key, so
            // deleting the session shreds the queued message), or the KYC
            // profile for the KYC kinds (sealed with the data key).
            .column("session_id", type: .text)
            .column("subject_id", type: .text)
            .column("language", type: .text, .notNull)
            .column("status", type: .text, .notNull)
            .column("attempts", type: .int, .notNull)
            .column("next_attempt_at", type: .bigint, .notNull)
            .column("lease_until", type: .bigint)
            .column("last_error", type: .text)
            // Recipient, sender and both rendered parts, as one sealed value.
            .column("message_sealed", type: .blob)
            .column("message_id", type: .text, .notNull)
            .column("sent_at", type: .bigint)
            .column("created_at", type: .bigint, .notNull)
            .run()
        try await sql.raw("""
            CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE status IN ('pending', 'in_flight')
            """).run()
        try await sql.create(index: "email_outbox_by_session").on("email_outbox").column("session_id").column("created_at").run()
        try await sql.create(index: "email_outbox_by_subject").on("email_outbox").column("subject_id").column("created_at").run()
    }
}
