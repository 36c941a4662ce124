import SQLKit

/// API keys: only the secret's hash is kept; `lookup_id` finds the row.
struct M0003_CreateAPIKeys: Migration {
    let version = 3
    let name = "create_api_keys"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "api_keys")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("lookup_id", type: .text, .notNull, .unique)
            .column("secret_hash", type: .text, .notNull)
            .column("display_prefix", type: .text, .notNull)
            .column("name", type: .text, .notNull)
            .column("environment", type: .text, .notNull)
            .column("privileges", type: .text, .notNull)
            .column("roles", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("created_by", type: .text)
            .column("expires_at", type: .bigint)
            .column("revoked_at", type: .bigint)
            .column("last_used_at", type: .bigint)
            .run()
    }
}
