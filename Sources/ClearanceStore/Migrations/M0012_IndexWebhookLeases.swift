import SQLKit

/// Lapsed leases found by index: the claim looks for in-flight deliveries
/// whose lease ran out, and without this it scanned every delivery.
struct M0012_IndexWebhookLeases: Migration {
    let version = 12
    let name = "index_webhook_leases"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.raw("""
            CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_until)
            WHERE status = 'in_flight'
            """).run()
    }
}
