import SQLKit

/// Signed-in console sessions, server side. The cookie carries a random
/// token; only its SHA-256 is stored, so a database reader cannot sign in.
struct M0031_CreateConsoleSessions: Migration {
    let version = 31
    let name = "create_console_sessions"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "console_sessions")
            .column("token_hash", type: .text, .primaryKey(autoIncrement: false))
            .column("user_id", type: .text, .notNull, .references("console_users", "id"))
            .column("environment", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("last_seen_at", type: .bigint, .notNull)
            .column("expires_at", type: .bigint, .notNull)
            .run()
        try await sql.create(index: "console_sessions_by_user").on("console_sessions").column("user_id").run()
    }
}
