import SQLKit

/// Where webhooks go, per environment. Secrets are sealed with the data key.
struct M0007_CreateWebhookDestinations: Migration {
    let version = 7
    let name = "create_webhook_destinations"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "webhook_destinations")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("environment", type: .text, .notNull)
            .column("label", type: .text, .notNull)
            .column("url", type: .text, .notNull)
            .column("enabled", type: .custom(SQLRaw("BOOLEAN")), .notNull)
            .column("webhook_version", type: .text, .notNull)
            .column("subscribed_events", type: .text, .notNull)
            .column("secret_sealed", type: .blob, .notNull)
            .column("previous_secret_sealed", type: .blob)
            .column("previous_secret_expires_at", type: .bigint)
            .column("created_at", type: .bigint, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .column("deleted_at", type: .bigint)
            .run()
        // A URL is unique among the live destinations of an environment.
        try await sql.raw("""
            CREATE UNIQUE INDEX webhook_destinations_url ON webhook_destinations (environment, url)
            WHERE deleted_at IS NULL
            """).run()
    }
}
