import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

extension ConsoleRoutes {
    // MARK: Failed webhook deliveries

    @Sendable func deliveriesPage(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let viewer = try viewer(request, context)
        try context.require(.readWebhooks)
        let notice = request.uri.queryParameters.get("notice") == "resent" ? "Queued to be sent again; a worker picks it up within seconds." : nil
        let (total, items) = try await queue.failedDeliveries(environment: viewer.principal.environment, limit: 100, offset: 0)
        var values: [String: Any] = [
            "rows": items.map(Self.deliveryRow), "total": total, "empty": items.isEmpty,
            "can_resend": viewer.principal.has(.writeWebhooks),
        ]
        if let notice { values["notice"] = notice }
        return renderer.page("deliveries", title: "Failed webhook deliveries", viewer: viewer, active: "deliveries", values)
    }

    @Sendable func resendDelivery(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeWebhooks)
        guard let id = UUID(uuidString: try context.parameters.require("delivery_id"))?.uuidString.lowercased() else {
            throw APIError.validation(path: "delivery_id", "Must be a UUID.")
        }
        let (_, items) = try await store.deliveries.log(deliveryID: id, limit: 1, offset: 0)
        // Only deliveries to a destination of the reviewer's environment.
        guard let entry = items.first,
            try await store.webhookDestinations.find(id: entry.destinationID, environment: principal.environment) != nil
        else { throw APIError.notFound("No delivery with this id in this environment.") }
        try await WebhookResend.resend(entry, principal: principal, store: store, requestID: context.requestID, now: clock.now())
        return ConsoleHTTP.redirect("/console/deliveries?notice=resent")
    }

    // MARK: Audit trail

    @Sendable func auditPage(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let viewer = try viewer(request, context)
        try context.require(.readAudit)
        let subject = request.uri.queryParameters.get("subject_id")?.trimmingCharacters(in: .whitespaces).nonEmpty
        // The newest 200: a subject's story reads oldest first, the whole trail newest first.
        let (total, _) = try await store.audit.entries(subjectID: subject, limit: 1, offset: 0)
        let (_, page) = try await store.audit.entries(subjectID: subject, limit: 200, offset: max(0, total - 200))
        let entries = subject == nil ? Array(page.reversed()) : page
        let emails = try await actorNames()
        let rows: [[String: Any]] = entries.map { entry in
            [
                "at": ConsoleFormat.preciseTime(Timestamp.date(milliseconds: entry.at)),
                "actor": emails[entry.actor] ?? entry.actor, "actor_id": entry.actor,
                "action": entry.action, "subject_type": entry.subjectType, "subject_id": entry.subjectID,
                "subject_short": String(entry.subjectID.prefix(8)),
                "before": ConsoleFormat.lines(entry.before), "after": ConsoleFormat.lines(entry.after),
                "comment": entry.comment ?? "", "request_id": entry.requestID ?? "",
            ]
        }
        var values: [String: Any] = ["rows": rows, "total": total, "empty": rows.isEmpty, "shown": rows.count]
        if let subject {
            values["subject_id"] = subject
            values["filtered"] = true
        }
        return renderer.page("audit", title: "Audit trail", viewer: viewer, active: "audit", values)
    }

    // MARK: API keys (admin)

    @Sendable func keysPage(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let viewer = try viewer(request, context)
        try context.require(.adminKeys)
        return try await renderKeys(viewer: viewer, notice: request.uri.queryParameters.get("notice") == "revoked" ? "Key revoked." : nil)
    }

    func renderKeys(
        viewer: ConsoleViewer, notice: String? = nil, error: String? = nil, created: (APIKeyRecord, String)? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let now = clock.now()
        let keys = try await store.apiKeys.list()
        let rows: [[String: Any]] = keys.map { key in
            let state = key.revokedAt != nil ? "revoked" : (key.isActive(at: now) ? "active" : "expired")
            return [
                "id": key.id, "name": key.name, "environment": key.environment.rawValue, "prefix": key.displayPrefix,
                "state": state, "state_class": state == "active" ? "ok" : "muted", "active": state == "active",
                "grants": (key.roles.map(\.rawValue) + key.privileges.map(\.rawValue)).joined(separator: ", "),
                "created": ConsoleFormat.time(key.createdAt),
                "last_used": key.lastUsedAt.map(ConsoleFormat.time) ?? "never",
                "expires": key.expiresAt.map(ConsoleFormat.time) ?? "never",
            ]
        }
        var values: [String: Any] = [
            "rows": rows, "privileges": Privilege.allCases.map { ["value": $0.rawValue] },
            "roles": Role.allCases.map { ["value": $0.rawValue] },
        ]
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        if let (record, key) = created { values["created"] = ["name": record.name, "key": key] }
        return renderer.page("keys", title: "API keys", viewer: viewer, active: "keys", values, status: status)
    }

    /// Creates a key through `APIKeyService` and shows it once, on this answer only.
    @Sendable func createKey(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        var request = request
        let viewer = try viewer(request, context)
        let principal = try context.require(.adminKeys)
        let form = try await ConsoleHTTP.readForm(&request, context: context)
        guard let name = form.text("name") else {
            return try await renderKeys(viewer: viewer, error: "Give the key a name people recognise.", status: .badRequest)
        }
        guard let environment = KeyEnvironment(rawValue: form["environment"] ?? "") else {
            return try await renderKeys(viewer: viewer, error: "Choose live or sandbox.", status: .badRequest)
        }
        let privileges = form.all("privileges").compactMap(Privilege.init(rawValue:))
        let roles = form.all("roles").compactMap(Role.init(rawValue:))
        guard !privileges.isEmpty || !roles.isEmpty else {
            return try await renderKeys(viewer: viewer, error: "Choose at least one privilege or role.", status: .badRequest)
        }
        var expiry: Date?
        if let text = form.text("expires_at") {
            guard let date = Timestamp.parse(text) ?? Timestamp.parse(text + "T00:00:00Z"), date > clock.now() else {
                return try await renderKeys(viewer: viewer, error: "The expiry must be a future date (YYYY-MM-DD).", status: .badRequest)
            }
            expiry = date
        }
        let created = try await APIKeyService(store: store).create(
            .init(name: name, environment: environment, privileges: privileges, roles: roles, expiresAt: expiry),
            actor: principal.actor, requestID: context.requestID, now: clock.now())
        return try await renderKeys(viewer: viewer, created: created, status: .created)
    }

    @Sendable func revokeKey(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.adminKeys)
        guard let id = UUID(uuidString: try context.parameters.require("key_id"))?.uuidString.lowercased(),
            try await APIKeyService(store: store).revoke(id: id, actor: principal.actor, requestID: context.requestID, now: clock.now()) != nil
        else { throw APIError.notFound("No API key with this id.") }
        return ConsoleHTTP.redirect("/console/keys?notice=revoked")
    }
}
