import SQLKit

/// The transactional outbox: an event row written in the same transaction
/// as the change it reports, and one delivery row per subscribed
/// destination, which the delivery workers claim.
struct M0008_CreateWebhookOutbox: Migration {
    let version = 8
    let name = "create_webhook_outbox"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "webhook_events")
            .column("event_id", type: .text, .primaryKey(autoIncrement: false))
            .column("environment", type: .text, .notNull)
            .column("webhook_type", type: .text, .notNull)
            .column("session_id", type: .text)
            .column("sequence", type: .bigint, .notNull)
            // Sealed with the session's own key when the event is about a
            // session, so deleting the session shreds its queued payloads.
            .column("payload_sealed", type: .blob)
            .column("created_at", type: .bigint, .notNull)
            .run()
        try await sql.create(index: "webhook_events_by_session").on("webhook_events")
            .column("session_id").column("sequence").run()

        try await sql.create(table: "webhook_deliveries")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("event_id", type: .text, .notNull, .references("webhook_events", "event_id"))
            .column("destination_id", type: .text, .notNull, .references("webhook_destinations", "id"))
            .column("status", type: .text, .notNull)
            .column("attempts", type: .int, .notNull)
            .column("next_attempt_at", type: .bigint, .notNull)
            .column("lease_until", type: .bigint)
            .column("last_status_code", type: .int)
            .column("last_error", type: .text)
            .column("delivered_at", type: .bigint)
            .column("created_at", type: .bigint, .notNull)
            .run()
        try await sql.create(index: "webhook_deliveries_event_destination").on("webhook_deliveries").unique()
            .column("event_id").column("destination_id").run()
        try await sql.raw("""
            CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
            WHERE status = 'pending'
            """).run()
        try await sql.create(index: "webhook_deliveries_by_destination").on("webhook_deliveries")
            .column("destination_id").column("created_at").run()
    }
}
