import Foundation
import ClearanceDomain
import ClearanceStore

/// Creating and versioning workflows, each change audited in its transaction.
public struct WorkflowService: Sendable {
    let store: Store

    public init(store: Store) { self.store = store }

    public struct Draft: Sendable {
        public var name: String
        public var kind: WorkflowKind
        public var nodes: [WorkflowNode]
        public var settings: WorkflowSettings

        public init(name: String, kind: WorkflowKind, nodes: [WorkflowNode], settings: WorkflowSettings) {
            self.name = name
            self.kind = kind
            self.nodes = nodes
            self.settings = settings
        }
    }

    public func create(_ draft: Draft, actor: String, requestID: String?, now: Date) async throws -> Workflow {
        let workflow = Workflow(
            id: Identifier.random(), name: draft.name, kind: draft.kind, version: 1, nodes: draft.nodes,
            settings: draft.settings, isDefault: false, createdAt: now, updatedAt: now)
        try await store.database.transaction { sql in
            try await store.workflows.insert(workflow, on: sql)
            try await store.audit.append(
                Self.auditEvent("workflow.created", workflow, before: nil, actor: actor, requestID: requestID), at: now,
                on: sql)
        }
        return workflow
    }

    /// Applies `change` to the current version; publishes a new version when
    /// anything differs, answers the current one unchanged otherwise. Nil
    /// when there is no such workflow; the change may throw a validation
    /// failure about the merged result.
    public func update(
        id: String, actor: String, requestID: String?, now: Date,
        change: @escaping @Sendable (Workflow) throws -> Draft
    ) async throws -> Workflow? {
        try await store.database.transaction { sql -> Workflow? in
            guard let current = try await store.workflows.current(id: id, on: sql) else { return nil }
            let draft = try change(current)
            guard draft.name != current.name || draft.nodes != current.nodes || draft.settings != current.settings else {
                return current
            }
            var next = current
            next.name = draft.name
            next.nodes = draft.nodes
            next.settings = draft.settings
            next.version = current.version + 1
            next.updatedAt = now
            try await store.workflows.publish(next, on: sql)
            try await store.audit.append(
                Self.auditEvent("workflow.updated", next, before: current, actor: actor, requestID: requestID), at: now,
                on: sql)
            return next
        }
    }

    /// On a database without one, creates the default KYC workflow. Answers
    /// the default workflow's id either way.
    public func seedDefault(now: Date) async throws -> String {
        let candidate = Identifier.random()
        return try await store.database.transaction { sql -> String in
            if try await store.settings.insertIfAbsent("default_workflow_id", value: candidate, at: now, on: sql) {
                let workflow = Workflow.defaultKYC(id: candidate, now: now)
                try await store.workflows.insert(workflow, on: sql)
                try await store.audit.append(
                    Self.auditEvent("workflow.created", workflow, before: nil, actor: "system", requestID: nil), at: now,
                    on: sql)
                return candidate
            }
            return try await store.settings.get("default_workflow_id", on: sql) ?? candidate
        }
    }

    static func auditEvent(_ action: String, _ workflow: Workflow, before: Workflow?, actor: String, requestID: String?) -> AuditEvent {
        func summary(_ workflow: Workflow) -> JSONValue {
            [
                "version": .int(Int64(workflow.version)), "name": .string(workflow.name),
                "kind": .string(workflow.kind.rawValue), "nodes": .array(workflow.nodes.map(\.json)),
                "settings": workflow.settings.json,
            ]
        }
        return AuditEvent(
            actor: actor, action: action, subjectType: "workflow", subjectID: workflow.id,
            before: before.map(summary), after: summary(workflow), requestID: requestID)
    }
}
