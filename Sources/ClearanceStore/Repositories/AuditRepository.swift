import Foundation
import SQLKit
import ClearanceDomain

/// What a feature says happened; the trail adds sequence, time and hashes.
public struct AuditEvent: Sendable {
    public var actor: String
    public var action: String
    public var subjectType: String
    public var subjectID: String
    public var before: JSONValue?
    public var after: JSONValue?
    public var comment: String?
    public var requestID: String?

    public init(
        actor: String, action: String, subjectType: String, subjectID: String, before: JSONValue? = nil,
        after: JSONValue? = nil, comment: String? = nil, requestID: String? = nil
    ) {
        self.actor = actor
        self.action = action
        self.subjectType = subjectType
        self.subjectID = subjectID
        self.before = before
        self.after = after
        self.comment = comment
        self.requestID = requestID
    }
}

public protocol AuditTrail: Sendable {
    /// Appends inside the caller's transaction, so the entry commits or
    /// vanishes with the change it records. Inside a transaction the entry
    /// is written just before COMMIT (see `TransactionContext`).
    func append(_ event: AuditEvent, at: Date, on sql: any SQLDatabase) async throws
    func entries(subjectID: String?, limit: Int, offset: Int) async throws -> (total: Int, items: [AuditRecord])
    func verify() async throws -> AuditVerification
}

public struct AuditVerification: Sendable, Equatable {
    public var checked: Int
    public var problem: AuditChain.Problem?
    public var isIntact: Bool { problem == nil }

    public init(checked: Int, problem: AuditChain.Problem?) {
        self.checked = checked
        self.problem = problem
    }
}

public struct SQLAuditTrail: AuditTrail {
    let database: any Database

    public init(database: any Database) { self.database = database }

    public func append(_ event: AuditEvent, at: Date, on sql: any SQLDatabase) async throws {
        if let transaction = TransactionScope.current {
            transaction.beforeCommit { sql in _ = try await self.write(event, at: at, on: sql) }
        } else {
            _ = try await write(event, at: at, on: sql)
        }
    }

    private func write(_ event: AuditEvent, at: Date, on sql: any SQLDatabase) async throws -> AuditRecord {
        // In a group-committed SQLite batch the head is read once and handed
        // from transaction to transaction (the batch holds the write lock, so
        // nobody else appends meanwhile); it is written once, before COMMIT.
        let batch = TransactionScope.current?.batch
        let head: AuditChain.Head
        if let held = batch?.current(Self.headKey, as: AuditChain.Head.self) { head = held } else { head = try await readHead(on: sql) }
        let record = AuditChain.append(
            after: head, id: Identifier.timeOrdered(at: at), at: Timestamp.milliseconds(at), actor: event.actor,
            action: event.action, subjectType: event.subjectType, subjectID: event.subjectID,
            before: event.before, after: event.after, comment: event.comment, requestID: event.requestID)
        try await sql.run(FixedQuery(
            """
            INSERT INTO audit_log (sequence, id, at, actor, action, subject_type, subject_id, before_json, after_json,
            comment, request_id, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .integer(record.sequence), .text(record.id), .integer(record.at), .text(record.actor), .text(record.action),
                .text(record.subjectType), .text(record.subjectID), .text(record.before?.canonicalText),
                .text(record.after?.canonicalText), .text(record.comment), .text(record.requestID), .text(record.prevHash),
                .text(record.hash),
            ]))
        let newHead = AuditChain.Head(sequence: record.sequence, hash: record.hash)
        if let batch {
            batch.stage(Self.headKey, newHead, merge: { $0 = $1 }, flush: Self.writeHead)
        } else {
            try await Self.writeHead(newHead, on: sql)
        }
        return record
    }

    private static let headKey = "audit_head"

    private func readHead(on sql: any SQLDatabase) async throws -> AuditChain.Head {
        // The head row lock serializes appenders on PostgreSQL; on SQLite the
        // single writer already does. Raw SQL: this runs in every change.
        let forUpdate = database.kind == .postgres ? " FOR UPDATE" : ""
        let headRow = try await sql.first(FixedQuery("SELECT sequence, hash FROM audit_head WHERE id = 1" + forUpdate))
        guard let headRow else { throw StoreError.corrupt("audit_head row is missing") }
        return AuditChain.Head(
            sequence: try headRow.decode(column: "sequence", as: Int64.self),
            hash: try headRow.decode(column: "hash", as: String.self))
    }

    @Sendable private static func writeHead(_ head: AuditChain.Head, on sql: any SQLDatabase) async throws {
        try await sql.run(FixedQuery(
            "UPDATE audit_head SET sequence = ?, hash = ? WHERE id = 1", [.integer(head.sequence), .text(head.hash)]))
    }

    public func entries(subjectID: String?, limit: Int, offset: Int) async throws -> (total: Int, items: [AuditRecord]) {
        try await database.read { sql in
            var count = sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("audit_log")
            var page = sql.select().column("*").from("audit_log")
            if let subjectID {
                count = count.where("subject_id", .equal, subjectID)
                page = page.where("subject_id", .equal, subjectID)
            }
            let total = try await count.first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await page.orderBy("sequence", .ascending).limit(limit).offset(offset).all()
            return (total, try rows.map(Self.record))
        }
    }

    public func verify() async throws -> AuditVerification {
        // One read transaction, so the head and the rows are one snapshot.
        let begin = database.kind == .postgres ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN"
        return try await database.read { sql in
            try await sql.raw(SQLQueryString(begin)).run()
            do {
                let result = try await Self.walk(sql)
                try await sql.raw("ROLLBACK").run()
                return result
            } catch {
                try? await sql.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    private static func walk(_ sql: any SQLDatabase) async throws -> AuditVerification {
        let headRow = try await sql.select().columns("sequence", "hash").from("audit_head")
            .where("id", .equal, 1).first()
        let recorded = AuditChain.Head(
            sequence: try headRow?.decode(column: "sequence", as: Int64.self) ?? 0,
            hash: try headRow?.decode(column: "hash", as: String.self) ?? AuditChain.genesisHash)
        var verifier = AuditChain.Verifier()
        let pageSize = 2000
        var after: Int64 = 0
        while true {
            let rows = try await sql.select().column("*").from("audit_log")
                .where("sequence", .greaterThan, after).orderBy("sequence").limit(pageSize).all()
            for row in rows {
                let record = try record(row)
                if let problem = verifier.check(record) {
                    return AuditVerification(checked: verifier.count, problem: problem)
                }
                after = record.sequence
            }
            if rows.count < pageSize { break }
        }
        return AuditVerification(checked: verifier.count, problem: verifier.finish(recordedHead: recorded))
    }

    static func record(_ row: any SQLRow) throws -> AuditRecord {
        AuditRecord(
            sequence: try row.decode(column: "sequence", as: Int64.self),
            id: try row.decode(column: "id", as: String.self),
            at: try row.decode(column: "at", as: Int64.self),
            actor: try row.decode(column: "actor", as: String.self),
            action: try row.decode(column: "action", as: String.self),
            subjectType: try row.decode(column: "subject_type", as: String.self),
            subjectID: try row.decode(column: "subject_id", as: String.self),
            before: try row.decode(column: "before_json", as: String?.self).flatMap { JSONValue(parsing: $0) },
            after: try row.decode(column: "after_json", as: String?.self).flatMap { JSONValue(parsing: $0) },
            comment: try row.decode(column: "comment", as: String?.self),
            requestID: try row.decode(column: "request_id", as: String?.self),
            prevHash: try row.decode(column: "prev_hash", as: String.self),
            hash: try row.decode(column: "hash", as: String.self))
    }
}

public enum StoreError: Error, CustomStringConvertible {
    case corrupt(String)
    public var description: String {
        switch self {
        case .corrupt(let what): "database is inconsistent: \(what)"
        }
    }
}
