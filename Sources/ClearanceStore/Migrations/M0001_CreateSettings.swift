import SQLKit

/// Deployment-wide key/value facts: the data-key check, organisation settings.
struct M0001_CreateSettings: Migration {
    let version = 1
    let name = "create_settings"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "settings")
            .column("key", type: .text, .primaryKey(autoIncrement: false))
            .column("value", type: .text, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .run()
    }
}
