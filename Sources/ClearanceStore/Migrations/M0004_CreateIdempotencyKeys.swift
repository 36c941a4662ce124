import SQLKit

/// Stored first responses for `Idempotency-Key` replays, per calling key.
struct M0004_CreateIdempotencyKeys: Migration {
    let version = 4
    let name = "create_idempotency_keys"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "idempotency_keys")
            .column("principal_id", type: .text, .notNull)
            .column("idempotency_key", type: .text, .notNull)
            .column("request_hash", type: .text, .notNull)
            .column("state", type: .text, .notNull)
            .column("response_status", type: .int)
            .column("response_content_type", type: .text)
            .column("response_body", type: .blob)
            .column("created_at", type: .bigint, .notNull)
            .column("locked_until", type: .bigint, .notNull)
            .column("expires_at", type: .bigint, .notNull)
            .primaryKey("principal_id", "idempotency_key")
            .run()
        try await sql.create(index: "idempotency_keys_expiry").on("idempotency_keys").column("expires_at").run()
    }
}
