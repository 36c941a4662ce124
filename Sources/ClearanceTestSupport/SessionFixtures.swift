import Foundation
import ClearanceDomain
import ClearanceServer
import ClearanceStore

extension TestServer {
    /// A workflow with the given features, in order.
    public func workflow(
        _ features: [Feature], kind: WorkflowKind = .user, settings: WorkflowSettings = .init(), name: String = "test"
    ) async throws -> Workflow {
        let nodes = try WorkflowRules.validate(kind: kind, nodes: features.map { WorkflowNodeInput(feature: $0.rawValue) }).get()
        return try await WorkflowService(store: store).create(
            .init(name: name, kind: kind, nodes: nodes, settings: settings), actor: "test", requestID: nil, now: Date())
    }

    /// The principal an API key of these grants would be.
    public static func principal(_ environment: KeyEnvironment = .live, id: String = "tester") -> Principal {
        Principal(id: id, name: id, environment: environment, privileges: Set(Privilege.allCases), roles: [])
    }
}
