import SQLKit

/// One row per delivery attempt: the delivery log's history.
struct M0009_CreateWebhookAttempts: Migration {
    let version = 9
    let name = "create_webhook_attempts"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "webhook_attempts")
            .column("delivery_id", type: .text, .notNull, .references("webhook_deliveries", "id"))
            .column("number", type: .int, .notNull)
            .column("at", type: .bigint, .notNull)
            .column("status_code", type: .int)
            .column("duration_ms", type: .bigint, .notNull)
            .column("error", type: .text)
            .primaryKey("delivery_id", "number")
            .run()
    }
}
