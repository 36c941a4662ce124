import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// Console users, for administrators: the same service as `clearance users`.
extension ConsoleRoutes {
    @Sendable func usersPage(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let viewer = try viewer(request, context)
        try context.require(.adminKeys)
        let notice = request.uri.queryParameters.get("notice").flatMap {
            ["disabled": "User disabled; their sessions ended.", "unlocked": "User unlocked."][$0]
        }
        return try await renderUsers(viewer: viewer, notice: notice)
    }

    func renderUsers(
        viewer: ConsoleViewer, notice: String? = nil, error: String? = nil, form: ConsoleHTTP.Form? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let now = clock.now()
        let rows: [[String: Any]] = try await accounts.list().map { user in
            let locked = user.lockedUntil.map { $0 > now } ?? false
            let state = user.disabledAt != nil ? "disabled" : (locked ? "locked" : "active")
            return [
                "id": user.id, "email": user.email, "name": user.displayName,
                "roles": user.roles.map(\.rawValue).joined(separator: ", "),
                "state": state, "state_class": state == "active" ? "ok" : (state == "locked" ? "wait" : "muted"),
                "locked": locked, "active": user.disabledAt == nil, "me": user.id == viewer.userID,
                "last_login": user.lastLoginAt.map(ConsoleFormat.time) ?? "never",
            ]
        }
        let chosen = Set(form?.all("roles") ?? [])
        var values: [String: Any] = [
            "rows": rows, "email": form?["email"] ?? "", "name": form?["name"] ?? "",
            "roles_all": ConsoleRole.allCases.map { ["value": $0.rawValue, "checked": chosen.contains($0.rawValue)] },
            "minimum": ConsoleAccountService.minimumPasswordLength,
        ]
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        return renderer.page("users", title: "Console users", viewer: viewer, active: "users", values, status: status)
    }

    @Sendable func createUser(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        var request = request
        let viewer = try viewer(request, context)
        let principal = try context.require(.adminKeys)
        let form = try await ConsoleHTTP.readForm(&request, context: context)
        let roles = form.all("roles").compactMap(ConsoleRole.init(rawValue:))
        do {
            let user = try await accounts.create(
                email: form["email"] ?? "", displayName: form.text("name"), password: form["password"] ?? "", roles: roles,
                actor: principal.actor, now: clock.now())
            return try await renderUsers(viewer: viewer, notice: "Created \(user.email). Give them their password in person or by another channel.", status: .created)
        } catch let refusal as ConsoleAccountService.Refusal {
            return try await renderUsers(viewer: viewer, error: "\(refusal.field.capitalized): \(refusal.message).", form: form, status: .badRequest)
        }
    }

    @Sendable func changeUser(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        var request = request
        let viewer = try viewer(request, context)
        let principal = try context.require(.adminKeys)
        let id = try context.parameters.require("user_id")
        let form = try await ConsoleHTTP.readForm(&request, context: context)
        switch form["action"] {
        case "disable":
            guard id != viewer.userID else {
                return try await renderUsers(viewer: viewer, error: "You cannot disable yourself.", status: .badRequest)
            }
            guard try await accounts.disable(id, actor: principal.actor, now: clock.now()) != nil else {
                throw APIError.notFound("No console user with this id.")
            }
            return ConsoleHTTP.redirect("/console/users?notice=disabled")
        case "unlock":
            guard try await accounts.unlock(id: id, actor: principal.actor, requestID: context.requestID, now: clock.now()) else {
                throw APIError.notFound("No console user with this id.")
            }
            return ConsoleHTTP.redirect("/console/users?notice=unlocked")
        default:
            return try await renderUsers(viewer: viewer, error: "Choose disable or unlock.", status: .badRequest)
        }
    }
}
