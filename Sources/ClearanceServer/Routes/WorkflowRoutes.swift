import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// `/v3/workflows/`: which nodes a session runs. A PATCH publishes a new
/// version; sessions keep the version they were created on. Workflows are
/// configuration shared by both environments.
struct WorkflowRoutes {
    let store: Store
    let clock: ServerClock
    let publicURL: String

    func register(on group: RouterGroup<ClearanceRequestContext>) {
        group.post("/v3/workflows/", use: create)
        group.get("/v3/workflows/", use: list)
        group.get("/v3/workflows/:workflow_id/", use: show)
        group.patch("/v3/workflows/:workflow_id/", use: update)
    }

    struct NodeBody: Decodable {
        var node_id: String?
        var feature: String
        var settings: JSONValue?

        enum CodingKeys: String, CodingKey { case node_id, feature, settings }

        /// `node_id` and `settings` may be left out (defaults are given) but
        /// not sent as null: the document says string and object, and
        /// schemathesis holds us to it.
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            for key in [CodingKeys.node_id, .settings] where container.contains(key) {
                if try container.decodeNil(forKey: key) {
                    throw DecodingError.valueNotFound(
                        String.self, .init(codingPath: container.codingPath + [key], debugDescription: "null"))
                }
            }
            node_id = try container.decodeIfPresent(String.self, forKey: .node_id)
            feature = try container.decode(String.self, forKey: .feature)
            settings = try container.decodeIfPresent(JSONValue.self, forKey: .settings)
        }
    }

    struct CreateBody: Decodable {
        var name: String
        var kind: String?
        var nodes: [NodeBody]
        var settings: JSONValue?
    }

    struct UpdateBody: Decodable {
        var name: String?
        var kind: String?
        var nodes: [NodeBody]?
        var settings: JSONValue?
    }

    struct View: Encodable {
        struct Node: Encodable {
            var node_id: String
            var feature: String
            var settings: JSONValue
        }
        var workflow_id: String
        var name: String
        var kind: String
        var version: Int
        var nodes: [Node]
        var settings: JSONValue
        var is_default: Bool
        var created_at: String
        var updated_at: String

        init(_ workflow: Workflow) {
            workflow_id = workflow.id
            name = workflow.name
            kind = workflow.kind.rawValue
            version = workflow.version
            nodes = workflow.nodes.map { Node(node_id: $0.nodeID, feature: $0.feature.rawValue, settings: $0.settings) }
            settings = workflow.settings.json
            is_default = workflow.isDefault
            created_at = Timestamp.iso8601(workflow.createdAt)
            updated_at = Timestamp.iso8601(workflow.updatedAt)
        }
    }

    @Sendable func create(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeWorkflows)
        var request = request
        let body = try await request.decodeJSON(CreateBody.self, context: context)
        var issues: [FieldIssue] = []
        let name = Self.validName(body.name, into: &issues)
        let kind = WorkflowKind(rawValue: body.kind ?? "user")
        if kind == nil {
            issues.append(FieldIssue(path: "kind", message: Choice.invalid(body.kind ?? "", WorkflowKind.self)))
        }
        var nodes: [WorkflowNode] = []
        if let kind {
            switch WorkflowRules.validate(kind: kind, nodes: body.nodes.map(Self.input)) {
            case .success(let valid): nodes = valid
            case .failure(let failure): issues += failure.issues
            }
        }
        var settings = WorkflowSettings()
        switch WorkflowSettings().merging(body.settings) {
        case .success(let merged): settings = merged
        case .failure(let failure): issues += failure.issues
        }
        guard issues.isEmpty, let kind else { throw APIError.validation(issues) }
        let workflow = try await WorkflowService(store: store).create(
            .init(name: name, kind: kind, nodes: nodes, settings: settings), actor: principal.actor,
            requestID: context.requestID, now: clock.now())
        return try JSONResponse.make(View(workflow), status: .created)
    }

    @Sendable func list(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        try context.require(.readWorkflows)
        let pagination = try Pagination(request)
        let (total, items) = try await store.workflows.list(limit: pagination.limit, offset: pagination.offset)
        return try JSONResponse.make(
            Page(
                count: total, results: items.map(View.init), limit: pagination.limit, offset: pagination.offset,
                request: request, publicURL: publicURL))
    }

    @Sendable func show(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        try context.require(.readWorkflows)
        let id = try Self.workflowID(context)
        var version: Int?
        if let text = Query(request).get("version") {
            guard let number = Int(text), number >= 1 else {
                throw APIError.validation(path: "version", "Must be a positive integer.")
            }
            version = number
        }
        guard let workflow = try await store.workflows.find(id: id, version: version) else {
            throw APIError.notFound(version == nil ? "No workflow with this id." : "No such workflow version.")
        }
        return try JSONResponse.make(View(workflow))
    }

    @Sendable func update(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeWorkflows)
        let id = try Self.workflowID(context)
        var request = request
        let body = try await request.decodeJSON(UpdateBody.self, context: context)
        let updated = try await WorkflowService(store: store).update(
            id: id, actor: principal.actor, requestID: context.requestID, now: clock.now()
        ) { current in
            var issues: [FieldIssue] = []
            let name = body.name.map { Self.validName($0, into: &issues) } ?? current.name
            if let kind = body.kind, kind != current.kind.rawValue {
                issues.append(FieldIssue(path: "kind", message: "A workflow's kind cannot change; create a new workflow."))
            }
            var nodes = current.nodes
            if let bodyNodes = body.nodes {
                switch WorkflowRules.validate(kind: current.kind, nodes: bodyNodes.map(Self.input)) {
                case .success(let valid): nodes = valid
                case .failure(let failure): issues += failure.issues
                }
            }
            var settings = current.settings
            switch current.settings.merging(body.settings) {
            case .success(let merged): settings = merged
            case .failure(let failure): issues += failure.issues
            }
            guard issues.isEmpty else { throw APIError.validation(issues) }
            return .init(name: name, kind: current.kind, nodes: nodes, settings: settings)
        }
        guard let updated else { throw APIError.notFound("No workflow with this id.") }
        return try JSONResponse.make(View(updated))
    }

    static func input(_ node: NodeBody) -> WorkflowNodeInput {
        WorkflowNodeInput(nodeID: node.node_id, feature: node.feature, settings: node.settings)
    }

    static func validName(_ text: String, into issues: inout [FieldIssue]) -> String {
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > 200 {
            issues.append(FieldIssue(path: "name", message: "Must be 1 to 200 characters."))
        }
        return name
    }

    static func workflowID(_ context: ClearanceRequestContext) throws -> String {
        let text = try context.parameters.require("workflow_id")
        guard let uuid = UUID(uuidString: text) else {
            throw APIError.validation(path: "workflow_id", "Must be a UUID.")
        }
        return uuid.uuidString.lowercased()
    }
}
