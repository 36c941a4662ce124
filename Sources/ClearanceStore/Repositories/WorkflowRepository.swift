import Foundation
import NIOConcurrencyHelpers
import SQLKit
import ClearanceDomain

public protocol WorkflowRepository: Sendable {
    /// Inserts a new workflow at its version.
    func insert(_ workflow: Workflow, on sql: any SQLDatabase) async throws
    /// Publishes `workflow.version` as the new current version.
    func publish(_ workflow: Workflow, on sql: any SQLDatabase) async throws
    /// The current version, locked for update inside a transaction.
    func current(id: String, on sql: any SQLDatabase) async throws -> Workflow?
    /// A version (nil: the current one). Inside a transaction pass its
    /// `sql`: a second connection taken while one is held can starve the
    /// pool under load.
    func find(id: String, version: Int?, on sql: (any SQLDatabase)?) async throws -> Workflow?
    func list(limit: Int, offset: Int) async throws -> (total: Int, items: [Workflow])
}

extension WorkflowRepository {
    public func find(id: String, version: Int?) async throws -> Workflow? {
        try await find(id: id, version: version, on: nil)
    }
}

public struct SQLWorkflowRepository: WorkflowRepository {
    let database: any Database
    /// Published versions never change, so a (workflow, version) read once
    /// is kept: sessions read theirs on every change and every decision.
    private let versions = NIOLockedValueBox<[String: Workflow]>([:])

    public init(database: any Database) { self.database = database }

    public func insert(_ workflow: Workflow, on sql: any SQLDatabase) async throws {
        try await sql.insert(into: "workflows")
            .columns("workflow_id", "current_version", "is_default", "created_at", "updated_at")
            .values(
                SQLBind(workflow.id), SQLBind(workflow.version), SQLBind(workflow.isDefault),
                SQLBind(Timestamp.milliseconds(workflow.createdAt)), SQLBind(Timestamp.milliseconds(workflow.updatedAt)))
            .run()
        try await insertVersion(workflow, on: sql)
    }

    public func publish(_ workflow: Workflow, on sql: any SQLDatabase) async throws {
        try await insertVersion(workflow, on: sql)
        try await sql.update("workflows")
            .set("current_version", to: workflow.version)
            .set("updated_at", to: Timestamp.milliseconds(workflow.updatedAt))
            .where("workflow_id", .equal, workflow.id).run()
    }

    private func insertVersion(_ workflow: Workflow, on sql: any SQLDatabase) async throws {
        try await sql.insert(into: "workflow_versions")
            .columns("workflow_id", "version", "name", "kind", "nodes_json", "settings_json", "created_at")
            .values(
                SQLBind(workflow.id), SQLBind(workflow.version), SQLBind(workflow.name), SQLBind(workflow.kind.rawValue),
                SQLBind(JSONValue.array(workflow.nodes.map(\.json)).canonicalText),
                SQLBind(workflow.settings.json.canonicalText), SQLBind(Timestamp.milliseconds(workflow.updatedAt)))
            .run()
    }

    public func current(id: String, on sql: any SQLDatabase) async throws -> Workflow? {
        guard
            let head = try await sql.select().column("*").from("workflows").where("workflow_id", .equal, id)
                .for(.update).first()
        else { return nil }
        return try await version(head: head, version: head.decode(column: "current_version", as: Int.self), on: sql)
    }

    public func find(id: String, version: Int?, on sql: (any SQLDatabase)?) async throws -> Workflow? {
        if let version, let cached = versions.withLockedValue({ $0["\(id)#\(version)"] }) { return cached }
        if let sql { return try await load(id: id, version: version, on: sql) }
        return try await database.read { sql in try await self.load(id: id, version: version, on: sql) }
    }

    private func load(id: String, version: Int?, on sql: any SQLDatabase) async throws -> Workflow? {
        guard let head = try await sql.select().column("*").from("workflows").where("workflow_id", .equal, id).first()
        else { return nil }
        let wanted = try version ?? head.decode(column: "current_version", as: Int.self)
        let found = try await self.version(head: head, version: wanted, on: sql)
        if let found, version != nil {
            versions.withLockedValue { cache in
                if cache.count > 10_000 { cache.removeAll() }
                cache["\(found.id)#\(found.version)"] = found
            }
        }
        return found
    }

    public func list(limit: Int, offset: Int) async throws -> (total: Int, items: [Workflow]) {
        try await database.read { sql in
            let total = try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n")
                .from("workflows").first()?.decode(column: "n", as: Int.self) ?? 0
            let heads = try await sql.select().column("*").from("workflows")
                .orderBy("created_at").orderBy("workflow_id").limit(limit).offset(offset).all()
            var items: [Workflow] = []
            for head in heads {
                if let workflow = try await self.version(
                    head: head, version: head.decode(column: "current_version", as: Int.self), on: sql)
                {
                    items.append(workflow)
                }
            }
            return (total, items)
        }
    }

    private func version(head: any SQLRow, version: Int, on sql: any SQLDatabase) async throws -> Workflow? {
        let id = try head.decode(column: "workflow_id", as: String.self)
        guard
            let row = try await sql.select().column("*").from("workflow_versions")
                .where("workflow_id", .equal, id).where("version", .equal, version).first()
        else { return nil }
        guard let kind = WorkflowKind(rawValue: try row.decode(column: "kind", as: String.self)),
            case .array(let nodeValues) = JSONValue(parsing: try row.decode(column: "nodes_json", as: String.self)),
            case .success(let settings) = WorkflowSettings().merging(
                JSONValue(parsing: try row.decode(column: "settings_json", as: String.self)))
        else { throw StoreError.corrupt("workflow \(id) version \(version)") }
        return Workflow(
            id: id, name: try row.decode(column: "name", as: String.self), kind: kind, version: version,
            nodes: nodeValues.compactMap(WorkflowNode.init(json:)), settings: settings,
            isDefault: try head.decode(column: "is_default", as: Bool.self),
            createdAt: Timestamp.date(milliseconds: try head.decode(column: "created_at", as: Int64.self)),
            updatedAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }
}
