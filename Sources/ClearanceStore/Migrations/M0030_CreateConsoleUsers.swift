import SQLKit

/// People who sign in to the reviewer console. The password is a bcrypt
/// hash; failed logins and the lock-out live on the row so every server
/// process sees the same count.
struct M0030_CreateConsoleUsers: Migration {
    let version = 30
    let name = "create_console_users"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "console_users")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("email", type: .text, .notNull, .unique)
            .column("display_name", type: .text, .notNull)
            .column("password_hash", type: .text, .notNull)
            .column("roles_json", type: .text, .notNull)
            .column("failed_logins", type: .int, .notNull)
            .column("locked_until", type: .bigint)
            .column("disabled_at", type: .bigint)
            .column("last_login_at", type: .bigint)
            .column("created_at", type: .bigint, .notNull)
            .run()
    }
}
