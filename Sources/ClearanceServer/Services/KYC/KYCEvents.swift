import Foundation
import SQLKit
import ClearanceDomain
import ClearanceStore

/// The `kyc.*` webhook bodies: compact JSON, keys sorted, snake_case like the
/// session events; `sequence` grows by one per user. No personal data:
/// ids, statuses, the reviewer's reason, and `review_notes` only when
/// `kyc.review_notes_visible` is on.
enum KYCEvents {
    static func enqueue(
        _ type: WebhookEventType, user: KYCUserRecord, version: KYCVersionRecord, previousStatus: KYCVersionStatus?,
        actionRequest: KYCActionRequestRecord? = nil, settings: KYCSettings, store: Store, now: Date,
        on sql: any SQLDatabase
    ) async throws {
        let eventID = Identifier.timeOrdered(at: now)
        try await store.outbox.enqueue(
            OutboxEvent(id: eventID, environment: user.environment, type: type, sessionID: nil, sequence: user.eventSequence, createdAt: now),
            payload: {
                var payload: [String: JSONValue] = [
                    "event_id": .string(eventID),
                    "webhook_type": .string(type.rawValue),
                    "user_id": .string(user.id),
                    "version_id": .string(version.id),
                    "version_number": .int(Int64(version.versionNumber)),
                    "status": .string(version.status.rawValue),
                    "previous_status": previousStatus.map { .string($0.rawValue) } ?? .null,
                    "review_outcome": version.reviewOutcome.map { .string($0.rawValue) } ?? .null,
                    "sequence": .int(user.eventSequence),
                    "timestamp": .int(Int64(now.timeIntervalSince1970)),
                    "environment": .string(user.environment.rawValue),
                ]
                if let reason = version.rejectionReason, version.status == .rejected { payload["rejection_reason"] = .string(reason) }
                if settings.reviewNotesVisible, let notes = version.reviewNotes { payload["review_notes"] = .string(notes) }
                if let actionRequest {
                    payload["action_request"] = [
                        "id": .string(actionRequest.id), "status": .string(actionRequest.status.rawValue),
                        "reason": .string(actionRequest.reason),
                        "required_fields": .array(actionRequest.requiredFields.map(JSONValue.string)),
                        "due_at": actionRequest.dueAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
                    ]
                }
                return .object(payload)
            },
            on: sql)
    }
}
