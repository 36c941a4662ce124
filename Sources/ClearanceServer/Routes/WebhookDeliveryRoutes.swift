import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// The delivery log: per destination, per session, one delivery with its
/// attempts, and resend.
struct WebhookDeliveryRoutes {
    let store: Store
    let clock: ServerClock
    let publicURL: String

    func register(on group: RouterGroup<ClearanceRequestContext>) {
        group.get("/v3/webhook/destinations/:uuid/deliveries/", use: list)
        group.get("/v3/webhook/destinations/:uuid/deliveries/:delivery_uuid/", use: show)
        group.post("/v3/webhook/destinations/:uuid/deliveries/:delivery_uuid/resend/", use: resend)
        group.get("/v3/session/:session_id/webhooks/", use: sessionLog)
        group.post("/v3/webhook/destinations/:uuid/test/", use: testSend)
    }

    static func view(_ entry: SQLWebhookDeliveryRepository.LogEntry) -> JSONValue {
        [
            "uuid": .string(entry.id), "event_id": .string(entry.eventID), "destination_uuid": .string(entry.destinationID),
            "session_id": entry.sessionID.map(JSONValue.string) ?? .null, "webhook_type": .string(entry.webhookType),
            "sequence": .int(entry.sequence), "status": .string(entry.status), "attempts": .int(Int64(entry.attempts)),
            "response_status": entry.lastStatusCode.map { .int(Int64($0)) } ?? .null,
            "last_error": entry.lastError.map(JSONValue.string) ?? .null,
            "created_at": .string(Timestamp.iso8601(entry.createdAt)),
            "delivered_at": entry.deliveredAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "next_attempt_at": entry.status == "pending" ? .string(Timestamp.iso8601(entry.nextAttemptAt)) : .null,
        ]
    }

    func destination(_ context: ClearanceRequestContext, _ principal: Principal) async throws -> WebhookDestinationRecord {
        guard let destination = try await store.webhookDestinations.find(
            id: try WebhookDestinationRoutes.id(context), environment: principal.environment)
        else { throw APIError.notFound("No webhook destination with this uuid.") }
        return destination
    }

    static func deliveryID(_ context: ClearanceRequestContext) throws -> String {
        let text = try context.parameters.require("delivery_uuid")
        guard let uuid = UUID(uuidString: text) else { throw APIError.validation(path: "delivery_uuid", "Must be a UUID.") }
        return uuid.uuidString.lowercased()
    }

    func entry(_ context: ClearanceRequestContext, destination: WebhookDestinationRecord) async throws -> SQLWebhookDeliveryRepository.LogEntry {
        let (_, items) = try await store.deliveries.log(
            destinationID: destination.id, deliveryID: try Self.deliveryID(context), limit: 1, offset: 0)
        guard let entry = items.first else { throw APIError.notFound("No delivery with this uuid.") }
        return entry
    }

    @Sendable func list(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.readWebhooks)
        let destination = try await destination(context, principal)
        let pagination = try Pagination(request)
        let (total, items) = try await store.deliveries.log(
            destinationID: destination.id, limit: pagination.limit, offset: pagination.offset)
        return try JSONResponse.make(
            Page(count: total, results: items.map(Self.view), limit: pagination.limit, offset: pagination.offset, request: request, publicURL: publicURL))
    }

    @Sendable func show(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.readWebhooks)
        let destination = try await destination(context, principal)
        let entry = try await entry(context, destination: destination)
        var object = Self.view(entry).objectValue ?? [:]
        let attempts = try await store.deliveries.attempts(deliveryID: entry.id)
        object["attempt_log"] = .array(attempts.map { attempt in
            [
                "number": .int(Int64(attempt.number)), "at": .string(Timestamp.iso8601(attempt.at)),
                "response_status": attempt.statusCode.map { .int(Int64($0)) } ?? .null,
                "duration_ms": .int(attempt.durationMS), "error": attempt.error.map(JSONValue.string) ?? .null,
            ]
        })
        // The request as it is signed now (the body is stored; the signatures
        // are recomputed with the destination's current secrets).
        let (event, _) = try await store.outbox.event(id: entry.eventID)
        if let event {
            let body = event.payload.canonicalText
            var timestamp = Int64(event.createdAt.timeIntervalSince1970)
            if case .int(let value) = event.payload["timestamp"] { timestamp = value }
            let input = WebhookSigningInput(
                body: Array(body.utf8), payload: event.payload, eventID: event.id, timestamp: timestamp,
                sessionID: event.sessionID ?? "", status: event.payload["status"]?.stringValue ?? "", webhookType: event.type.rawValue)
            var headers: [String: JSONValue] = ["Content-Type": "application/json"]
            for (name, value) in WebhookSignature.headers(input, current: destination.secret, previous: destination.previousSecret(at: clock.now())) {
                headers[name] = .string(value)
            }
            object["request"] = ["url": .string(destination.url), "headers": .object(headers), "body": .string(body)]
        } else {
            object["request"] = .null
        }
        return try JSONResponse.make(JSONValue.object(object))
    }

    @Sendable func resend(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeWebhooks)
        let destination = try await destination(context, principal)
        let entry = try await entry(context, destination: destination)
        try await WebhookResend.resend(entry, principal: principal, store: store, requestID: context.requestID, now: clock.now())
        var resent = entry
        resent.status = "pending"
        resent.nextAttemptAt = clock.now()
        return try JSONResponse.make(Self.view(resent), status: .accepted)
    }

    /// A signed `status.updated`-shaped event marked `"test": true`, sent to
    /// this destination only, whatever it subscribes to.
    @Sendable func testSend(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeWebhooks)
        let destination = try await destination(context, principal)
        let now = clock.now()
        let eventID = Identifier.timeOrdered()
        let payload: JSONValue = [
            "event_id": .string(eventID), "webhook_type": "status.updated", "test": true,
            "session_id": .string("00000000-0000-0000-0000-000000000000"), "session_kind": "user",
            "status": "Approved", "previous_status": "In Review", "sequence": 0, "vendor_data": nil, "workflow_id": nil,
            "metadata": ["test": true], "created_at": .int(Int64(now.timeIntervalSince1970)),
            "timestamp": .int(Int64(now.timeIntervalSince1970)), "environment": .string(principal.environment.rawValue),
        ]
        let deliveryID = try await store.database.transaction { [store] sql in
            let id = try await store.outbox.enqueueTest(
                OutboxEvent(
                    id: eventID, environment: principal.environment, type: .statusUpdated, sessionID: nil, sequence: 0,
                    payload: payload, createdAt: now),
                destinationID: destination.id, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "webhook_destination.test_sent", subjectType: "webhook_destination",
                    subjectID: destination.id, after: ["delivery_id": .string(id)], requestID: context.requestID),
                at: now, on: sql)
            return id
        }
        let (_, items) = try await store.deliveries.log(destinationID: destination.id, deliveryID: deliveryID, limit: 1, offset: 0)
        guard let entry = items.first else { throw APIError.notFound("The test delivery vanished.") }
        return try JSONResponse.make(Self.view(entry), status: .accepted)
    }

    @Sendable func sessionLog(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.readWebhooks)
        let id = try SessionRoutes.sessionID(context)
        guard try await store.sessions.find(id: id, environment: principal.environment) != nil else {
            throw APIError.notFound("No session with this id.")
        }
        let pagination = try Pagination(request)
        let (total, items) = try await store.deliveries.log(sessionID: id, limit: pagination.limit, offset: pagination.offset)
        return try JSONResponse.make(
            Page(count: total, results: items.map(Self.view), limit: pagination.limit, offset: pagination.offset, request: request, publicURL: publicURL))
    }
}
