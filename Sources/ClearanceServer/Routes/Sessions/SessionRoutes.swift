import Foundation
import Hummingbird
import SQLKit
import ClearanceDomain
import ClearanceStore

/// The Didit v3 sessions dialect: create, read, decide, list, delete, and
/// the manual and per-node status changes. A session of the other
/// environment is 404.
struct SessionRoutes {
    let store: Store
    let clock: ServerClock
    let publicURL: String

    func register(on group: RouterGroup<ClearanceRequestContext>) {
        group.post("/v3/session/", use: create)
        group.get("/v3/session/:session_id/", use: show)
        group.get("/v3/session/:session_id/decision/", use: decision)
        group.get("/v3/sessions/", use: list)
        group.delete("/v3/session/:session_id/delete/", use: delete)
        group.patch("/v3/session/:session_id/update-status/", use: updateStatus)
        group.patch("/v3/session/:session_id/features/:node_id/update-status/", use: updateNode)
    }

    var service: SessionService { SessionService(store: store) }

    @Sendable func create(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeSessions)
        var request = request
        let body = try await request.decodeJSON(SessionRequests.Create.self, context: context)
        let new = try SessionRequests.validate(body, environment: principal.environment)
        JSONResponse.storeWithChange(status: .created) { [self] (session: SessionRecord, sql) in
            try await created(session, on: sql)
        }
        let session = try await service.create(new, principal: principal, requestID: context.requestID, now: clock.now())
        return try JSONResponse.make(try await created(session, on: nil), status: .created)
    }

    /// The answer to a create; `sql` is the transaction's, inside it.
    func created(_ session: SessionRecord, on sql: (any SQLDatabase)?) async throws -> JSONValue {
        let workflow = try await store.workflows.find(id: session.workflowID, version: session.workflowVersion, on: sql)
        return SessionViews.resource(session, workflow: workflow, publicURL: publicURL)
    }

    @Sendable func show(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.readSessions)
        let session = try await find(context, principal)
        let workflow = try await store.workflows.find(id: session.workflowID, version: session.workflowVersion)
        return try JSONResponse.make(SessionViews.resource(session, workflow: workflow, publicURL: publicURL))
    }

    @Sendable func decision(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.readSessions)
        let session = try await find(context, principal)
        async let nodes = store.sessions.nodes(sessionID: session.id, on: nil)
        async let reviews = store.sessions.reviews(sessionID: session.id)
        async let workflow = store.workflows.find(id: session.workflowID, version: session.workflowVersion)
        return try JSONResponse.make(
            SessionViews.decision(session, nodes: try await nodes, reviews: try await reviews, workflow: try await workflow, publicURL: publicURL))
    }

    @Sendable func list(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.readSessions)
        let filter = try Self.filter(request, environment: principal.environment)
        let (total, items) = try await store.sessions.list(filter)
        return try JSONResponse.make(
            Page(
                count: total, results: items.map { SessionViews.listItem($0, publicURL: publicURL) }, limit: filter.limit,
                offset: filter.offset, request: request, publicURL: publicURL))
    }

    @Sendable func delete(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.deleteSessions)
        let id = try Self.sessionID(context)
        guard try await service.delete(id: id, principal: principal, requestID: context.requestID, now: clock.now()) else {
            throw APIError.notFound("No session with this id.")
        }
        return Response(status: .noContent)
    }

    @Sendable func updateStatus(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeSessions)
        let id = try Self.sessionID(context)
        var request = request
        let change = try SessionRequests.validate(try await request.decodeJSON(SessionRequests.UpdateStatus.self, context: context))
        JSONResponse.storeWithChange { (session: SessionRecord, _) in Self.statusChanged(session) }
        guard let session = try await service.updateStatus(
            id: id, change: change, principal: principal, requestID: context.requestID, now: clock.now())
        else { throw APIError.notFound("No session with this id.") }
        return try JSONResponse.make(Self.statusChanged(session))
    }

    static func statusChanged(_ session: SessionRecord) -> JSONValue {
        [
            "session_id": .string(session.id), "session_kind": .string(session.kind.rawValue),
            "status": .string(session.status.rawValue),
        ]
    }

    @Sendable func updateNode(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeSessions)
        let id = try Self.sessionID(context)
        let nodeID = try context.parameters.require("node_id")
        var request = request
        let report = try SessionRequests.validate(try await request.decodeJSON(SessionRequests.NodeUpdate.self, context: context))
        let render: @Sendable (SessionRecord) -> JSONValue = { session in
            [
                "session_id": .string(session.id), "session_kind": .string(session.kind.rawValue),
                "status": .string(session.status.rawValue), "node_id": .string(nodeID),
                "node_status": .string(report.status.rawValue),
            ]
        }
        JSONResponse.storeWithChange { (session: SessionRecord, _) in render(session) }
        guard let session = try await service.reportNode(
            sessionID: id, nodeID: nodeID, report: report, principal: principal, requestID: context.requestID, now: clock.now())
        else { throw APIError.notFound("No session with this id.") }
        return try JSONResponse.make(render(session))
    }

    // MARK: Helpers

    func find(_ context: ClearanceRequestContext, _ principal: Principal) async throws -> SessionRecord {
        let id = try Self.sessionID(context)
        guard let session = try await store.sessions.find(id: id, environment: principal.environment) else {
            throw APIError.notFound("No session with this id.")
        }
        return session
    }

    static func sessionID(_ context: ClearanceRequestContext) throws -> String {
        let text = try context.parameters.require("session_id")
        guard let uuid = UUID(uuidString: text) else { throw APIError.validation(path: "session_id", "Must be a UUID.") }
        return uuid.uuidString.lowercased()
    }

    /// The list filters, each checked; 400 naming the parameter otherwise.
    static func filter(_ request: Request, environment: KeyEnvironment) throws -> SessionFilter {
        let query = Query(request)
        let pagination = try Pagination(request)
        var filter = SessionFilter(environment: environment, limit: pagination.limit, offset: pagination.offset)
        var issues: [FieldIssue] = []
        if let text = query.get("status") {
            if let status = SessionStatus(label: text) { filter.status = status } else {
                issues.append(FieldIssue(path: "status", message: "'\(text)' is not a valid status; expected one of: \(SessionStatus.allCases.map(\.rawValue).joined(separator: ", "))."))
            }
        }
        if let text = query.get("vendor_data") { filter.vendorData = text }
        if let text = query.get("country") {
            if FieldRules.isAlpha3(text) { filter.country = text } else {
                issues.append(FieldIssue(path: "country", message: "Must be an ISO 3166-1 alpha-3 code in capitals, such as ESP."))
            }
        }
        if let text = query.get("workflow_id") {
            if let uuid = UUID(uuidString: text) { filter.workflowID = uuid.uuidString.lowercased() } else {
                issues.append(FieldIssue(path: "workflow_id", message: "Must be a UUID."))
            }
        }
        if let text = query.get("search") {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.count > 200 {
                issues.append(FieldIssue(path: "search", message: "Must be 1 to 200 characters."))
            } else {
                filter.search = trimmed
            }
        }
        if let text = query.get("date_from") {
            if let date = Timestamp.parse(text) { filter.createdFrom = date } else {
                issues.append(FieldIssue(path: "date_from", message: "Must be a date (YYYY-MM-DD) or an ISO 8601 time."))
            }
        }
        if let text = query.get("date_to") {
            if let date = Timestamp.parse(text) {
                // A bare date includes the whole day.
                filter.createdBefore = text.count == 10 ? date.addingTimeInterval(86400) : date.addingTimeInterval(0.001)
            } else {
                issues.append(FieldIssue(path: "date_to", message: "Must be a date (YYYY-MM-DD) or an ISO 8601 time."))
            }
        }
        if let text = query.get("session_kind") {
            switch text {
            case "user": filter.kinds = [.user]
            case "business": filter.kinds = [.business]
            case "all": filter.kinds = [.user, .business]
            default: issues.append(FieldIssue(path: "session_kind", message: "Must be one of: user, business, all."))
            }
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return filter
    }
}
