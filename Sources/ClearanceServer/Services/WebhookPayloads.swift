import Foundation
import SQLKit
import ClearanceDomain
import ClearanceStore

/// The session event bodies of `webhooks.md`: compact JSON, keys sorted,
/// `timestamp` (the event) and `created_at` (the session) as Unix seconds,
/// `decision` for Approved, Declined and In Review.
enum WebhookPayloads {
    static let decisionStatuses: Set<SessionStatus> = [.approved, .declined, .inReview]

    /// Builds and enqueues one session event inside the change's transaction.
    static func enqueueSessionEvent(
        _ type: WebhookEventType, session: SessionRecord, previousStatus: SessionStatus?, store: Store, now: Date,
        on sql: any SQLDatabase
    ) async throws {
        let eventID = Identifier.timeOrdered(at: now)
        try await store.outbox.enqueue(
            OutboxEvent(
                id: eventID, environment: session.environment, type: type, sessionID: session.id,
                sequence: session.eventSequence, createdAt: now),
            payload: {
                var payload: [String: JSONValue] = [
                    "event_id": .string(eventID),
                    "webhook_type": .string(type.rawValue),
                    "session_id": .string(session.id),
                    "session_kind": .string(session.kind.rawValue),
                    "status": .string(session.status.rawValue),
                    "previous_status": previousStatus.map { .string($0.rawValue) } ?? .null,
                    "sequence": .int(session.eventSequence),
                    "vendor_data": session.vendorData.map(JSONValue.string) ?? .null,
                    "workflow_id": .string(session.workflowID),
                    "metadata": session.metadata ?? .null,
                    "created_at": .int(Int64(session.createdAt.timeIntervalSince1970)),
                    "timestamp": .int(Int64(now.timeIntervalSince1970)),
                    "environment": .string(session.environment.rawValue),
                ]
                if session.kind == .business { payload["business_session_id"] = .string(session.id) }
                if type == .statusUpdated, decisionStatuses.contains(session.status) {
                    let nodes = try await store.sessions.nodes(sessionID: session.id, on: sql)
                    let reviews = try await store.sessions.reviews(sessionID: session.id, on: sql)
                    let workflow = try await store.workflows.find(id: session.workflowID, version: session.workflowVersion, on: sql)
                    payload["decision"] = SessionViews.decision(
                        session, nodes: nodes, reviews: reviews, workflow: workflow, publicURL: "")
                }
                return .object(payload)
            },
            on: sql)
    }
}
