import Foundation
import SQLKit
import ClearanceDomain

public protocol SessionRepository: Sendable {
    func nextSessionNumber(on sql: any SQLDatabase) async throws -> Int64
    func insert(_ session: inout SessionRecord, nodes: [SessionNodeRecord], searchTerms: [String], on sql: any SQLDatabase) async throws
    /// Locks the live session for the rest of the transaction.
    func lock(id: String, environment: KeyEnvironment, on sql: any SQLDatabase) async throws -> SessionRecord?
    func find(id: String, environment: KeyEnvironment) async throws -> SessionRecord?
    func findReusable(
        environment: KeyEnvironment, vendorData: String, workflowID: String, workflowVersion: Int, on sql: any SQLDatabase
    ) async throws -> SessionRecord?
    /// Writes every mutable column of `session` but its personal data, which
    /// is written once, at insert (and moves the live counts when its status
    /// changed since it was read).
    func save(_ session: inout SessionRecord, on sql: any SQLDatabase) async throws
    func updateSearchTerms(id: String, terms: [String], on sql: any SQLDatabase) async throws
    func nodes(sessionID: String, on sql: (any SQLDatabase)?) async throws -> [SessionNodeRecord]
    func saveNode(_ node: SessionNodeRecord, on sql: any SQLDatabase) async throws
    func insertReview(_ review: SessionReviewRecord, on sql: any SQLDatabase) async throws
    func reviews(sessionID: String, on sql: (any SQLDatabase)?) async throws -> [SessionReviewRecord]
    func list(_ filter: SessionFilter) async throws -> (total: Int, items: [SessionRecord])
    /// Soft-deletes and crypto-shreds: the session key and every sealed or
    /// free-text column go; ids, statuses and times stay.
    func softDelete(_ session: SessionRecord, at: Date, on sql: any SQLDatabase) async throws
    /// Sessions due for an automatic move, locked; other processes' locked
    /// rows are skipped (PostgreSQL), so no session is swept twice.
    func dueForSweep(now: Date, limit: Int, on sql: any SQLDatabase) async throws -> [(id: String, environment: KeyEnvironment, reason: SweepReason)]
    /// Marks a session whose workflow version allows expired documents, so
    /// `dueForSweep` never offers it for `Kyc Expired` again.
    func waiveDocumentExpiry(id: String, on sql: any SQLDatabase) async throws
}

extension SessionRepository {
    public func reviews(sessionID: String) async throws -> [SessionReviewRecord] {
        try await reviews(sessionID: sessionID, on: nil)
    }
}

public struct SQLSessionRepository: SessionRepository {
    let database: any Database
    let sealer: Sealer

    public init(database: any Database, sealer: Sealer) {
        self.database = database
        self.sealer = sealer
    }

    static let keyContext = SessionKeys.context
    static let personalContext = "sessions.personal:"
    static let nodeContext = "session_nodes.data:"

    public func nextSessionNumber(on sql: any SQLDatabase) async throws -> Int64 {
        let row = try await sql.raw(
            "UPDATE counters SET value = value + 1 WHERE name = 'session_number' RETURNING value"
        ).first()
        guard let row else { throw StoreError.corrupt("the session_number counter is missing") }
        return try row.decode(column: "value", as: Int64.self)
    }

    public func insert(_ session: inout SessionRecord, nodes: [SessionNodeRecord], searchTerms: [String], on sql: any SQLDatabase) async throws {
        let (subjectSealer, wrapped) = try sealer.makeSubjectKey(context: Self.keyContext + session.id)
        try await sql.insert(into: "session_keys").columns("session_id", "wrapped_key")
            .values(SQLBind(session.id), SQLBind(wrapped)).run()
        let personal = session.personal.isEmpty
            ? nil : try subjectSealer.seal(string: session.personal.json.canonicalText, context: Self.personalContext + session.id)
        try await sql.insert(into: "sessions")
            .columns(
                "session_id", "session_number", "environment", "kind", "workflow_id", "workflow_version", "status",
                "vendor_data", "callback", "callback_method", "metadata_json", "language", "session_token", "country",
                "personal_sealed", "search_tokens", "resubmit_json", "sandbox_scenario", "document_expires_at",
                "expires_at", "created_at", "updated_at", "event_sequence"
            )
            .values(
                SQLBind(session.id), SQLBind(session.number), SQLBind(session.environment.rawValue),
                SQLBind(session.kind.rawValue), SQLBind(session.workflowID), SQLBind(session.workflowVersion),
                SQLBind(session.status.rawValue), SQLBind(session.vendorData), SQLBind(session.callback),
                SQLBind(session.callbackMethod), SQLBind(session.metadata?.canonicalText), SQLBind(session.language),
                SQLBind(session.token), SQLBind(session.country), SQLBind(personal), SQLBind(tokens(searchTerms)),
                SQLBind(session.resubmit.json.canonicalText), SQLBind(session.sandboxScenario),
                SQLBind(session.documentExpiresAt.map(Timestamp.milliseconds)),
                SQLBind(Timestamp.milliseconds(session.expiresAt)), SQLBind(Timestamp.milliseconds(session.createdAt)),
                SQLBind(Timestamp.milliseconds(session.updatedAt)), SQLBind(session.eventSequence)
            )
            .run()
        for node in nodes {
            try await sql.insert(into: "session_nodes")
                .columns("session_id", "node_id", "position", "feature", "status", "data_sealed", "warnings_json", "updated_at")
                .values(
                    SQLBind(node.sessionID), SQLBind(node.nodeID), SQLBind(node.position), SQLBind(node.feature.rawValue),
                    SQLBind(node.status.rawValue), SQLBind(try sealNodeData(node, with: subjectSealer)),
                    SQLBind(warningsText(node.warnings)), SQLBind(Timestamp.milliseconds(node.updatedAt)))
                .run()
        }
        try await adjustCounts(session, from: nil, to: session.status, on: sql)
        session.storedStatus = session.status
    }

    /// Moves one session between the live counts. Inside a transaction the
    /// moves are netted and written at COMMIT (`TransactionContext`), every
    /// row in (environment, kind, status) order: a transaction that makes
    /// several transitions (a node result that starts and decides a session,
    /// a sweep batch) used to take these rows one transition at a time, and
    /// two such transactions deadlocked on PostgreSQL (`40P01`, found by
    /// `scripts/chaos/multiprocess.sh`).
    private func adjustCounts(_ session: SessionRecord, from: SessionStatus?, to: SessionStatus?, on sql: any SQLDatabase) async throws {
        guard from != to else { return }
        var changes: [CountKey: Int] = [:]
        if let from { changes[CountKey(session, from), default: 0] -= 1 }
        if let to { changes[CountKey(session, to), default: 0] += 1 }
        if let transaction = TransactionScope.current {
            transaction.accumulate(
                "session_counts", initial: [CountKey: Int](),
                change: { deltas in for (key, delta) in changes { deltas[key, default: 0] += delta } },
                merge: { total, more in total.merge(more, uniquingKeysWith: +) },
                flush: { deltas, sql in try await Self.writeCounts(deltas, on: sql) })
        } else {
            try await Self.writeCounts(changes, on: sql)
        }
    }

    /// One row of `session_counts`.
    struct CountKey: Hashable, Comparable, Sendable {
        var environment: String
        var kind: String
        var status: String

        init(_ session: SessionRecord, _ status: SessionStatus) {
            environment = session.environment.rawValue
            kind = session.kind.rawValue
            self.status = status.rawValue
        }

        static func < (a: CountKey, b: CountKey) -> Bool {
            (a.environment, a.kind, a.status) < (b.environment, b.kind, b.status)
        }
    }

    /// The non-zero deltas, rows in key order so two writers never wait on
    /// each other crosswise.
    static func writeCounts(_ deltas: [CountKey: Int], on sql: any SQLDatabase) async throws {
        for (key, delta) in deltas.sorted(by: { $0.key < $1.key }) where delta != 0 {
            try await sql.run(FixedQuery(
                "UPDATE session_counts SET count = count + ? WHERE environment = ? AND kind = ? AND status = ?",
                [.integer(Int64(delta)), .text(key.environment), .text(key.kind), .text(key.status)]))
        }
    }

    public func lock(id: String, environment: KeyEnvironment, on sql: any SQLDatabase) async throws -> SessionRecord? {
        let forUpdate = database.kind == .postgres ? " FOR UPDATE" : ""
        guard
            let row = try await sql.first(FixedQuery(
                "SELECT * FROM sessions WHERE session_id = ? AND environment = ? AND deleted_at IS NULL" + forUpdate,
                [.text(id), .text(environment.rawValue)]))
        else { return nil }
        return try await record(row, personal: true, on: sql)
    }

    public func find(id: String, environment: KeyEnvironment) async throws -> SessionRecord? {
        try await database.read { sql in
            guard
                let row = try await sql.select().column("*").from("sessions").where("session_id", .equal, id)
                    .where("environment", .equal, environment.rawValue).where("deleted_at", .is, SQLLiteral.null).first()
            else { return nil }
            return try await record(row, personal: true, on: sql)
        }
    }

    public func findReusable(
        environment: KeyEnvironment, vendorData: String, workflowID: String, workflowVersion: Int, on sql: any SQLDatabase
    ) async throws -> SessionRecord? {
        let unfinished = SessionStatus.allCases.filter(\.isUnfinished).map(\.rawValue)
        guard
            let row = try await sql.select().column("*").from("sessions")
                .where("environment", .equal, environment.rawValue).where("vendor_data", .equal, vendorData)
                .where("workflow_id", .equal, workflowID).where("workflow_version", .equal, workflowVersion)
                .where("status", .in, unfinished).where("deleted_at", .is, SQLLiteral.null)
                .orderBy("session_number", .descending).limit(1).for(.update).first()
        else { return nil }
        return try await record(row, personal: true, on: sql)
    }

    public func save(_ session: inout SessionRecord, on sql: any SQLDatabase) async throws {
        // A fixed statement on this hot path: every status change runs it,
        // and SQLKit's builders cost more to serialize than SQLite takes to
        // execute (`FixedQuery`).
        try await sql.run(FixedQuery(
            """
            UPDATE sessions SET status = ?, callback = ?, callback_method = ?, metadata_json = ?, country = ?,
            resubmit_json = ?, document_expires_at = ?, expires_at = ?, updated_at = ?, last_no_user_resubmit_at = ?,
            event_sequence = ? WHERE session_id = ?
            """,
            [
                .text(session.status.rawValue), .text(session.callback), .text(session.callbackMethod),
                .text(session.metadata?.canonicalText), .text(session.country), .text(session.resubmit.json.canonicalText),
                .integer(session.documentExpiresAt.map(Timestamp.milliseconds)), .integer(Timestamp.milliseconds(session.expiresAt)),
                .integer(Timestamp.milliseconds(session.updatedAt)),
                .integer(session.lastNoUserResubmitAt.map(Timestamp.milliseconds)), .integer(session.eventSequence),
                .text(session.id),
            ]))
        try await adjustCounts(session, from: session.storedStatus, to: session.status, on: sql)
        session.storedStatus = session.status
    }

    public func updateSearchTerms(id: String, terms: [String], on sql: any SQLDatabase) async throws {
        try await sql.update("sessions").set("search_tokens", to: SQLBind(tokens(terms))).where("session_id", .equal, id).run()
    }

    public func nodes(sessionID: String, on sql: (any SQLDatabase)?) async throws -> [SessionNodeRecord] {
        @Sendable func load(_ sql: any SQLDatabase) async throws -> [SessionNodeRecord] {
            let subjectSealer = try await subjectKey(sessionID, on: sql)
            return try await sql.select().column("*").from("session_nodes").where("session_id", .equal, sessionID)
                .orderBy("position").all().map { row in try nodeRecord(row, sealer: subjectSealer) }
        }
        if let sql { return try await load(sql) }
        return try await database.read { sql in try await load(sql) }
    }

    public func saveNode(_ node: SessionNodeRecord, on sql: any SQLDatabase) async throws {
        let subjectSealer = try await subjectKey(node.sessionID, on: sql)
        let sealed = try subjectSealer.map { try sealNodeData(node, with: $0) } ?? nil
        try await sql.update("session_nodes")
            .set("status", to: node.status.rawValue)
            .set("data_sealed", to: SQLBind(sealed))
            .set("warnings_json", to: warningsText(node.warnings))
            .set("updated_at", to: Timestamp.milliseconds(node.updatedAt))
            .where("session_id", .equal, node.sessionID).where("node_id", .equal, node.nodeID)
            .run()
    }

    public func insertReview(_ review: SessionReviewRecord, on sql: any SQLDatabase) async throws {
        try await sql.run(FixedQuery(
            """
            INSERT INTO session_reviews (id, session_id, actor, previous_status, new_status, comment, sequence, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(review.id), .text(review.sessionID), .text(review.actor), .text(review.previousStatus.rawValue),
                .text(review.newStatus.rawValue), .text(review.comment), .integer(review.sequence),
                .integer(Timestamp.milliseconds(review.createdAt)),
            ]))
    }

    public func reviews(sessionID: String, on sql: (any SQLDatabase)?) async throws -> [SessionReviewRecord] {
        if let sql { return try await loadReviews(sessionID, sql) }
        return try await database.read { sql in try await loadReviews(sessionID, sql) }
    }

    private func loadReviews(_ sessionID: String, _ sql: any SQLDatabase) async throws -> [SessionReviewRecord] {
        try await sql.select().column("*").from("session_reviews").where("session_id", .equal, sessionID)
                .orderBy("sequence").all().map { row in
                    guard let previous = SessionStatus(rawValue: try row.decode(column: "previous_status", as: String.self)),
                        let new = SessionStatus(rawValue: try row.decode(column: "new_status", as: String.self))
                    else { throw StoreError.corrupt("session review status") }
                    return SessionReviewRecord(
                        id: try row.decode(column: "id", as: String.self), sessionID: sessionID,
                        actor: try row.decode(column: "actor", as: String.self), previousStatus: previous, newStatus: new,
                        comment: try row.decode(column: "comment", as: String?.self),
                        sequence: try row.decode(column: "sequence", as: Int64.self),
                        createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
                }
    }

    public func list(_ filter: SessionFilter) async throws -> (total: Int, items: [SessionRecord]) {
        try await database.read { sql in
            func apply(_ query: SQLSelectBuilder) -> SQLSelectBuilder {
                var query = query.where("environment", .equal, filter.environment.rawValue)
                    .where("deleted_at", .is, SQLLiteral.null)
                if filter.kinds.count == 1 {
                    query = query.where("kind", .equal, filter.kinds[0].rawValue)
                }
                if let status = filter.status { query = query.where("status", .equal, status.rawValue) }
                if let vendorData = filter.vendorData { query = query.where("vendor_data", .equal, vendorData) }
                if let country = filter.country { query = query.where("country", .equal, country) }
                if let workflowID = filter.workflowID { query = query.where("workflow_id", .equal, workflowID) }
                if let from = filter.createdFrom {
                    query = query.where("created_at", .greaterThanOrEqual, Timestamp.milliseconds(from))
                }
                if let before = filter.createdBefore {
                    query = query.where("created_at", .lessThan, Timestamp.milliseconds(before))
                }
                if let search = filter.search {
                    let token = "% \(sealer.blindIndex(Self.normalize(search))) %"
                    query = query.where { group in
                        group.where("vendor_data", .like, "%\(Self.escapeLike(search))%")
                            .orWhere("search_tokens", .like, token)
                    }
                }
                return query
            }
            let total: Int
            if filter.vendorData == nil, filter.country == nil, filter.workflowID == nil, filter.search == nil,
                filter.createdFrom == nil, filter.createdBefore == nil
            {
                // SUM of bigint is numeric on PostgreSQL: cast back for one decoding path.
                var counts = sql.select().column(SQLRaw("CAST(COALESCE(SUM(count), 0) AS BIGINT)"), as: "n").from("session_counts")
                    .where("environment", .equal, filter.environment.rawValue)
                    .where("kind", .in, filter.kinds.map(\.rawValue))
                if let status = filter.status { counts = counts.where("status", .equal, status.rawValue) }
                total = try await counts.first()?.decode(column: "n", as: Int.self) ?? 0
            } else {
                total = try await apply(
                    sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("sessions")
                ).first()?.decode(column: "n", as: Int.self) ?? 0
            }
            let rows = try await apply(sql.select().column("*").from("sessions"))
                .orderBy("session_number", .descending).limit(filter.limit).offset(filter.offset).all()
            var items: [SessionRecord] = []
            for row in rows { items.append(try await record(row, personal: false, on: sql)) }
            return (total, items)
        }
    }

    public func softDelete(_ session: SessionRecord, at: Date, on sql: any SQLDatabase) async throws {
        let id = session.id
        try await adjustCounts(session, from: session.storedStatus, to: nil, on: sql)
        try await sql.delete(from: "session_keys").where("session_id", .equal, id).run()
        try await sql.update("session_nodes").set("data_sealed", to: SQLLiteral.null).set("warnings_json", to: "[]")
            .where("session_id", .equal, id).run()
        try await sql.update("session_reviews").set("comment", to: SQLLiteral.null).where("session_id", .equal, id).run()
        try await sql.update("sessions")
            .set("deleted_at", to: Timestamp.milliseconds(at)).set("updated_at", to: Timestamp.milliseconds(at))
            .set("personal_sealed", to: SQLLiteral.null).set("search_tokens", to: SQLLiteral.null)
            .set("vendor_data", to: SQLLiteral.null).set("metadata_json", to: SQLLiteral.null)
            .set("callback", to: SQLLiteral.null).set("country", to: SQLLiteral.null)
            .where("session_id", .equal, id).run()
    }

    public func dueForSweep(now: Date, limit: Int, on sql: any SQLDatabase) async throws
        -> [(id: String, environment: KeyEnvironment, reason: SweepReason)]
    {
        let nowMS = Timestamp.milliseconds(now)
        let skipLocked = database.kind == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        // The same WHERE texts as the partial indexes (M0006, M0041).
        let expiring = "'Not Started','In Progress','Resubmitted'"
        let expiredQuery: String =
            "SELECT session_id, environment FROM sessions WHERE status IN (\(expiring)) AND deleted_at IS NULL AND expires_at <= \(nowMS) ORDER BY expires_at LIMIT \(limit)\(skipLocked)"
        let documentQuery: String =
            "SELECT session_id, environment FROM sessions WHERE status = 'Approved' AND deleted_at IS NULL AND document_expiry_waived IS NULL AND document_expires_at IS NOT NULL AND document_expires_at <= \(nowMS) ORDER BY document_expires_at LIMIT \(limit)\(skipLocked)"
        let expired = try await sql.raw(SQLQueryString(expiredQuery)).all()
        let documents = try await sql.raw(SQLQueryString(documentQuery)).all()
        func decode(_ rows: [any SQLRow], _ reason: SweepReason) throws -> [(id: String, environment: KeyEnvironment, reason: SweepReason)] {
            try rows.map { row in
                (
                    try row.decode(column: "session_id", as: String.self),
                    KeyEnvironment(rawValue: try row.decode(column: "environment", as: String.self)) ?? .live, reason
                )
            }
        }
        return try decode(expired, .expired) + decode(documents, .documentExpired)
    }

    public func waiveDocumentExpiry(id: String, on sql: any SQLDatabase) async throws {
        try await sql.raw("UPDATE sessions SET document_expiry_waived = TRUE WHERE session_id = \(bind: id)").run()
    }

    // MARK: Mapping

    private func subjectKey(_ sessionID: String, on sql: any SQLDatabase) async throws -> Sealer? {
        try await SessionKeys(sealer: sealer).sealer(for: sessionID, on: sql)
    }

    private func sealNodeData(_ node: SessionNodeRecord, with subjectSealer: Sealer) throws -> Data? {
        if node.data == .object([:]) { return nil }
        return try subjectSealer.seal(string: node.data.canonicalText, context: "\(Self.nodeContext)\(node.sessionID):\(node.nodeID)")
    }

    private func warningsText(_ warnings: [SessionWarning]) -> String {
        JSONValue.array(warnings.map(\.json)).canonicalText
    }

    private func tokens(_ terms: [String]) -> String? {
        let normalized = Set(terms.map(Self.normalize).filter { !$0.isEmpty })
        guard !normalized.isEmpty else { return nil }
        return " " + normalized.map(sealer.blindIndex).sorted().joined(separator: " ") + " "
    }

    /// Case- and space-insensitive form for exact-match search.
    public static func normalize(_ text: String) -> String {
        text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "")
    }

    private func nodeRecord(_ row: any SQLRow, sealer subjectSealer: Sealer?) throws -> SessionNodeRecord {
        let sessionID = try row.decode(column: "session_id", as: String.self)
        let nodeID = try row.decode(column: "node_id", as: String.self)
        guard let feature = Feature(rawValue: try row.decode(column: "feature", as: String.self)),
            let status = NodeStatus(rawValue: try row.decode(column: "status", as: String.self))
        else { throw StoreError.corrupt("session node \(sessionID)/\(nodeID)") }
        var data = JSONValue.object([:])
        if let sealed = try row.decode(column: "data_sealed", as: Data?.self), let subjectSealer {
            data = JSONValue(parsing: try subjectSealer.openString(sealed, context: "\(Self.nodeContext)\(sessionID):\(nodeID)")) ?? data
        }
        var warnings: [SessionWarning] = []
        if case .array(let items) = JSONValue(parsing: try row.decode(column: "warnings_json", as: String.self)) {
            warnings = items.compactMap(SessionWarning.init(json:))
        }
        return SessionNodeRecord(
            sessionID: sessionID, nodeID: nodeID, position: try row.decode(column: "position", as: Int.self),
            feature: feature, status: status, data: data, warnings: warnings,
            updatedAt: Timestamp.date(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }

    private func record(_ row: any SQLRow, personal: Bool, on sql: any SQLDatabase) async throws -> SessionRecord {
        func date(_ column: String) throws -> Date? {
            try row.decode(column: column, as: Int64?.self).map(Timestamp.date(milliseconds:))
        }
        let id = try row.decode(column: "session_id", as: String.self)
        guard let status = SessionStatus(rawValue: try row.decode(column: "status", as: String.self)),
            let kind = WorkflowKind(rawValue: try row.decode(column: "kind", as: String.self)),
            let environment = KeyEnvironment(rawValue: try row.decode(column: "environment", as: String.self))
        else { throw StoreError.corrupt("session \(id)") }
        var personalData = SessionPersonalData()
        if personal, let sealed = try row.decode(column: "personal_sealed", as: Data?.self),
            let subjectSealer = try await subjectKey(id, on: sql)
        {
            personalData = SessionPersonalData(
                json: JSONValue(parsing: try subjectSealer.openString(sealed, context: Self.personalContext + id)) ?? .null)
        }
        var record = SessionRecord(
            id: id, number: try row.decode(column: "session_number", as: Int64.self), environment: environment,
            kind: kind, workflowID: try row.decode(column: "workflow_id", as: String.self),
            workflowVersion: try row.decode(column: "workflow_version", as: Int.self), status: status,
            vendorData: try row.decode(column: "vendor_data", as: String?.self),
            callback: try row.decode(column: "callback", as: String?.self),
            callbackMethod: try row.decode(column: "callback_method", as: String?.self),
            metadata: try row.decode(column: "metadata_json", as: String?.self).flatMap { JSONValue(parsing: $0) },
            language: try row.decode(column: "language", as: String?.self),
            token: try row.decode(column: "session_token", as: String.self),
            country: try row.decode(column: "country", as: String?.self), personal: personalData,
            resubmit: ResubmitInfo(json: JSONValue(parsing: try row.decode(column: "resubmit_json", as: String.self))),
            sandboxScenario: try row.decode(column: "sandbox_scenario", as: String?.self),
            documentExpiresAt: try date("document_expires_at"), expiresAt: try date("expires_at")!,
            createdAt: try date("created_at")!, updatedAt: try date("updated_at")!, deletedAt: try date("deleted_at"),
            lastNoUserResubmitAt: try date("last_no_user_resubmit_at"),
            eventSequence: try row.decode(column: "event_sequence", as: Int64.self))
        record.storedStatus = status
        return record
    }
}
