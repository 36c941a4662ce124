import Foundation
import ClearanceDomain
import ClearanceStore

/// Sending a delivery again, with its audit entry: the API's resend route
/// and the console both call this.
enum WebhookResend {
    static func resend(
        _ entry: SQLWebhookDeliveryRepository.LogEntry, principal: Principal, store: Store, requestID: String?, now: Date
    ) async throws {
        try await store.deliveries.resend(id: entry.id, now: now)
        try await store.database.transaction { [store] sql in
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "webhook_delivery.resent", subjectType: "webhook_delivery", subjectID: entry.id,
                    after: ["event_id": .string(entry.eventID)], requestID: requestID),
                at: now, on: sql)
        }
    }
}
