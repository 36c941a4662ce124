import SQLKit

/// Workflows and their published versions; sessions point at a version.
struct M0005_CreateWorkflows: Migration {
    let version = 5
    let name = "create_workflows"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "workflows")
            .column("workflow_id", type: .text, .primaryKey(autoIncrement: false))
            .column("current_version", type: .int, .notNull)
            .column("is_default", type: .custom(SQLRaw("BOOLEAN")), .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .run()
        try await sql.create(table: "workflow_versions")
            .column("workflow_id", type: .text, .notNull, .references("workflows", "workflow_id"))
            .column("version", type: .int, .notNull)
            .column("name", type: .text, .notNull)
            .column("kind", type: .text, .notNull)
            .column("nodes_json", type: .text, .notNull)
            .column("settings_json", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .primaryKey("workflow_id", "version")
            .run()
    }
}
