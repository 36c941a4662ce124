import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// `/v3/webhook/destinations/`: where events go, per environment.
struct WebhookDestinationRoutes {
    let store: Store
    let clock: ServerClock
    let publicURL: String
    let targetGuard: WebhookTargetGuard

    func register(on group: RouterGroup<ClearanceRequestContext>) {
        group.post("/v3/webhook/destinations/", use: create)
        group.get("/v3/webhook/destinations/", use: list)
        group.get("/v3/webhook/destinations/:uuid/", use: show)
        group.patch("/v3/webhook/destinations/:uuid/", use: update)
        group.delete("/v3/webhook/destinations/:uuid/", use: delete)
    }

    struct CreateBody: Decodable {
        var label: String?
        var url: String
        var enabled: Bool?
        var webhook_version: String?
        var subscribed_events: [String]
    }

    struct UpdateBody: Decodable {
        var label: String?
        var url: String?
        var enabled: Bool?
        var webhook_version: String?
        var subscribed_events: [String]?
        var rotate_secret_key: Bool?
    }

    typealias Summary = SQLWebhookDeliveryRepository.Summary

    static func view(_ destination: WebhookDestinationRecord, withSecret: Bool, now: Date, summary: Summary = (0, 0, nil, nil)) -> JSONValue {
        var object: [String: JSONValue] = [
            "uuid": .string(destination.id),
            "label": .string(destination.label),
            "url": .string(destination.url),
            "enabled": .bool(destination.enabled),
            "webhook_version": .string(destination.webhookVersion),
            "subscribed_events": .array(destination.subscribedEvents.map { .string($0.rawValue) }),
            "secret_last4": .string(destination.secret.last4),
            "previous_secret_expires_at": destination.previousSecret(at: now) == nil
                ? .null : .string(Timestamp.iso8601(destination.previousSecretExpiresAt!)),
            "created_at": .string(Timestamp.iso8601(destination.createdAt)),
            "updated_at": .string(Timestamp.iso8601(destination.updatedAt)),
            "summary": [
                "total_deliveries": .int(Int64(summary.total)), "failed_deliveries": .int(Int64(summary.failed)),
                "error_rate_percentage": .double(summary.total == 0 ? 0 : (Double(summary.failed) * 10000 / Double(summary.total)).rounded() / 100),
                "avg_response_time_ms": summary.averageMS.map { .double(($0 * 10).rounded() / 10) } ?? .null,
                "last_delivery_at": summary.last.map { .string(Timestamp.iso8601($0)) } ?? .null,
            ],
        ]
        if withSecret {
            object["secret_shared_key"] = .string(destination.secret.sharedKey)
            object["standard_webhooks_secret"] = .string(destination.secret.standardWebhooksSecret)
        }
        return .object(object)
    }

    func checkURL(_ url: String, into issues: inout [FieldIssue]) {
        if let refusal = targetGuard.refusal(for: url) { issues.append(FieldIssue(path: "url", message: refusal)) }
    }

    static func events(_ names: [String], into issues: inout [FieldIssue]) -> [WebhookEventType] {
        if names.isEmpty {
            issues.append(FieldIssue(path: "subscribed_events", message: "Subscribe to at least one event."))
        }
        var events: [WebhookEventType] = []
        for (index, name) in names.enumerated() {
            if let event = WebhookEventType(rawValue: name) {
                if !events.contains(event) { events.append(event) }
            } else {
                issues.append(FieldIssue(path: "subscribed_events[\(index)]", message: Choice.invalid(name, WebhookEventType.self)))
            }
        }
        return events
    }

    static func label(_ text: String?, into issues: inout [FieldIssue]) -> String? {
        guard let text else { return nil }
        let label = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if label.count > 200 || !FieldRules.isPlainText(label) {
            issues.append(FieldIssue(path: "label", message: "Must be at most 200 characters without control characters."))
        }
        return label
    }

    static func version(_ text: String?, into issues: inout [FieldIssue]) {
        if let text, text != "v3" { issues.append(FieldIssue(path: "webhook_version", message: "Only 'v3' is supported.")) }
    }

    @Sendable func create(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeWebhooks)
        var request = request
        let body = try await request.decodeJSON(CreateBody.self, context: context)
        var issues: [FieldIssue] = []
        let label = Self.label(body.label, into: &issues) ?? ""
        checkURL(body.url, into: &issues)
        Self.version(body.webhook_version, into: &issues)
        let events = Self.events(body.subscribed_events, into: &issues)
        guard issues.isEmpty else { throw APIError.validation(issues) }
        let destination = try await WebhookDestinationService(store: store).create(
            label: label, url: body.url, enabled: body.enabled ?? true, events: events, principal: principal,
            requestID: context.requestID, now: clock.now())
        return try JSONResponse.make(Self.view(destination, withSecret: true, now: clock.now()), status: .created)
    }

    @Sendable func list(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.readWebhooks)
        let pagination = try Pagination(request)
        let (total, items) = try await store.webhookDestinations.list(
            environment: principal.environment, limit: pagination.limit, offset: pagination.offset)
        let now = clock.now()
        let summaries = try await store.deliveries.summaries(destinationIDs: items.map(\.id))
        let views = items.map { Self.view($0, withSecret: false, now: now, summary: summaries[$0.id] ?? (0, 0, nil, nil)) }
        return try JSONResponse.make(
            Page(
                count: total, results: views, limit: pagination.limit,
                offset: pagination.offset, request: request, publicURL: publicURL))
    }

    @Sendable func show(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.readWebhooks)
        guard let destination = try await store.webhookDestinations.find(id: try Self.id(context), environment: principal.environment)
        else { throw APIError.notFound("No webhook destination with this uuid.") }
        let summary = try await store.deliveries.summaries(destinationIDs: [destination.id])[destination.id]
        return try JSONResponse.make(Self.view(destination, withSecret: true, now: clock.now(), summary: summary ?? (0, 0, nil, nil)))
    }

    @Sendable func update(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeWebhooks)
        let id = try Self.id(context)
        var request = request
        let body = try await request.decodeJSON(UpdateBody.self, context: context)
        var issues: [FieldIssue] = []
        let label = Self.label(body.label, into: &issues)
        if let url = body.url { checkURL(url, into: &issues) }
        Self.version(body.webhook_version, into: &issues)
        let events = body.subscribed_events.map { Self.events($0, into: &issues) }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        guard let destination = try await WebhookDestinationService(store: store).update(
            id: id,
            change: .init(label: label, url: body.url, enabled: body.enabled, events: events, rotateSecret: body.rotate_secret_key ?? false),
            principal: principal, requestID: context.requestID, now: clock.now())
        else { throw APIError.notFound("No webhook destination with this uuid.") }
        return try JSONResponse.make(Self.view(destination, withSecret: body.rotate_secret_key == true, now: clock.now()))
    }

    @Sendable func delete(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeWebhooks)
        guard try await WebhookDestinationService(store: store).delete(
            id: try Self.id(context), principal: principal, requestID: context.requestID, now: clock.now())
        else { throw APIError.notFound("No webhook destination with this uuid.") }
        return Response(status: .noContent)
    }

    static func id(_ context: ClearanceRequestContext) throws -> String {
        let text = try context.parameters.require("uuid")
        guard let uuid = UUID(uuidString: text) else { throw APIError.validation(path: "uuid", "Must be a UUID.") }
        return uuid.uuidString.lowercased()
    }
}
