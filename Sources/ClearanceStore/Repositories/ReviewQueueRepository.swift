import Foundation
import SQLKit
import ClearanceDomain

/// One row of the reviewer console's queue.
public struct ReviewQueueItem: Sendable, Equatable {
    public var sessionID: String
    public var sessionNumber: Int64
    public var kind: WorkflowKind
    public var workflowID: String
    public var workflowVersion: Int
    public var country: String?
    public var vendorData: String?
    /// When the session last entered `In Review`.
    public var inReviewSince: Date
    public var assigneeID: String?
    public var assigneeEmail: String?
    public var warningsCount: Int
}

public enum ReviewAssigneeFilter: Sendable, Equatable {
    case anyone
    case unassigned
    case user(String)
}

public struct ReviewQueueFilter: Sendable {
    public var environment: KeyEnvironment
    public var workflowID: String?
    public var country: String?
    public var assignee: ReviewAssigneeFilter
    public var limit: Int
    public var offset: Int

    public init(
        environment: KeyEnvironment, workflowID: String? = nil, country: String? = nil,
        assignee: ReviewAssigneeFilter = .anyone, limit: Int = 50, offset: Int = 0
    ) {
        self.environment = environment
        self.workflowID = workflowID
        self.country = country
        self.assignee = assignee
        self.limit = limit
        self.offset = offset
    }
}

/// A first approval waiting for a second reviewer (four-eyes).
public struct FirstApprovalRecord: Sendable, Equatable {
    public var sessionID: String
    public var userID: String
    public var userEmail: String
    public var comment: String?
    /// The session's event sequence when approved: any later change makes it stale.
    public var eventSequence: Int64
    public var createdAt: Date
}

/// The review queue, assignments and four-eyes first approvals.
public struct ReviewQueueRepository: Sendable {
    let database: any Database

    public init(database: any Database) { self.database = database }

    /// Sessions `In Review`, oldest first by when they entered review.
    public func queue(_ filter: ReviewQueueFilter) async throws -> (total: Int, items: [ReviewQueueItem]) {
        try await database.read { sql in
            var conditions = SQLQueryString("s.status = 'In Review' AND s.deleted_at IS NULL AND s.environment = ")
            conditions.appendInterpolation(bind: filter.environment.rawValue)
            if let workflowID = filter.workflowID {
                conditions.appendInterpolation(unsafeRaw: " AND s.workflow_id = ")
                conditions.appendInterpolation(bind: workflowID)
            }
            if let country = filter.country {
                conditions.appendInterpolation(unsafeRaw: " AND s.country = ")
                conditions.appendInterpolation(bind: country)
            }
            switch filter.assignee {
            case .anyone: break
            case .unassigned: conditions.appendInterpolation(unsafeRaw: " AND a.user_id IS NULL")
            case .user(let id):
                conditions.appendInterpolation(unsafeRaw: " AND a.user_id = ")
                conditions.appendInterpolation(bind: id)
            }
            let from: SQLQueryString = """
                FROM sessions s LEFT JOIN review_assignments a ON a.session_id = s.session_id
                LEFT JOIN console_users u ON u.id = a.user_id
                """
            let total = try await sql.raw("SELECT COUNT(*) AS n \(from) WHERE \(conditions)").first()?
                .decode(column: "n", as: Int.self) ?? 0
            let rows = try await sql.raw("""
                SELECT s.session_id, s.session_number, s.kind, s.workflow_id, s.workflow_version, s.country, s.vendor_data,
                COALESCE((SELECT MAX(r.created_at) FROM session_reviews r WHERE r.session_id = s.session_id
                  AND r.new_status = 'In Review'), s.updated_at) AS since,
                a.user_id AS assignee_id, u.email AS assignee_email
                \(from) WHERE \(conditions) ORDER BY since ASC, s.session_number ASC
                LIMIT \(bind: filter.limit) OFFSET \(bind: filter.offset)
                """).all()
            var items: [ReviewQueueItem] = []
            for row in rows {
                let id = try row.decode(column: "session_id", as: String.self)
                items.append(
                    ReviewQueueItem(
                        sessionID: id, sessionNumber: try row.decode(column: "session_number", as: Int64.self),
                        kind: WorkflowKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .user,
                        workflowID: try row.decode(column: "workflow_id", as: String.self),
                        workflowVersion: try row.decode(column: "workflow_version", as: Int.self),
                        country: try row.decode(column: "country", as: String?.self),
                        vendorData: try row.decode(column: "vendor_data", as: String?.self),
                        inReviewSince: Timestamp.date(milliseconds: try row.decode(column: "since", as: Int64.self)),
                        assigneeID: try row.decode(column: "assignee_id", as: String?.self),
                        assigneeEmail: try row.decode(column: "assignee_email", as: String?.self), warningsCount: 0))
            }
            // Warnings per session, in one query for the page.
            if !items.isEmpty {
                let warningRows = try await sql.select().column("session_id").column("warnings_json").from("session_nodes")
                    .where("session_id", .in, items.map(\.sessionID)).all()
                var counts: [String: Int] = [:]
                for row in warningRows {
                    if case .array(let warnings) = JSONValue(parsing: try row.decode(column: "warnings_json", as: String.self)) {
                        counts[try row.decode(column: "session_id", as: String.self), default: 0] += warnings.count
                    }
                }
                for index in items.indices { items[index].warningsCount = counts[items[index].sessionID] ?? 0 }
            }
            return (total, items)
        }
    }

    // MARK: Assignments

    public func assign(sessionID: String, userID: String, at now: Date, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "review_assignments").where("session_id", .equal, sessionID).run()
        try await sql.insert(into: "review_assignments").columns("session_id", "user_id", "assigned_at")
            .values(SQLBind(sessionID), SQLBind(userID), SQLBind(Timestamp.milliseconds(now))).run()
    }

    public func unassign(sessionID: String, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "review_assignments").where("session_id", .equal, sessionID).run()
    }

    public func assignee(sessionID: String, on sql: (any SQLDatabase)? = nil) async throws -> (id: String, email: String)? {
        @Sendable func load(_ sql: any SQLDatabase) async throws -> (id: String, email: String)? {
            guard let row = try await sql.raw("""
                SELECT a.user_id, u.email FROM review_assignments a JOIN console_users u ON u.id = a.user_id
                WHERE a.session_id = \(bind: sessionID)
                """).first() else { return nil }
            return (try row.decode(column: "user_id", as: String.self), try row.decode(column: "email", as: String.self))
        }
        if let sql { return try await load(sql) }
        return try await database.read(load)
    }

    // MARK: Four-eyes first approvals

    public func firstApproval(sessionID: String, on sql: (any SQLDatabase)? = nil) async throws -> FirstApprovalRecord? {
        @Sendable func load(_ sql: any SQLDatabase) async throws -> FirstApprovalRecord? {
            guard let row = try await sql.raw("""
                SELECT f.*, u.email FROM review_first_approvals f JOIN console_users u ON u.id = f.user_id
                WHERE f.session_id = \(bind: sessionID)
                """).first() else { return nil }
            return FirstApprovalRecord(
                sessionID: sessionID, userID: try row.decode(column: "user_id", as: String.self),
                userEmail: try row.decode(column: "email", as: String.self),
                comment: try row.decode(column: "comment", as: String?.self),
                eventSequence: try row.decode(column: "event_sequence", as: Int64.self),
                createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
        }
        if let sql { return try await load(sql) }
        return try await database.read(load)
    }

    public func recordFirstApproval(
        sessionID: String, userID: String, comment: String?, eventSequence: Int64, at now: Date, on sql: any SQLDatabase
    ) async throws {
        try await clearFirstApproval(sessionID: sessionID, on: sql)
        try await sql.insert(into: "review_first_approvals")
            .columns("session_id", "user_id", "comment", "event_sequence", "created_at")
            .values(SQLBind(sessionID), SQLBind(userID), SQLBind(comment), SQLBind(eventSequence), SQLBind(Timestamp.milliseconds(now)))
            .run()
    }

    public func clearFirstApproval(sessionID: String, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "review_first_approvals").where("session_id", .equal, sessionID).run()
    }

    // MARK: Failed webhook deliveries

    /// Deliveries that gave up, newest first, in one environment.
    public func failedDeliveries(environment: KeyEnvironment, limit: Int, offset: Int) async throws
        -> (total: Int, items: [SQLWebhookDeliveryRepository.LogEntry])
    {
        try await database.read { sql in
            let from: SQLQueryString = """
                FROM webhook_deliveries d JOIN webhook_events e ON e.event_id = d.event_id
                WHERE d.status = 'failed' AND e.environment = \(bind: environment.rawValue)
                """
            let total = try await sql.raw("SELECT COUNT(*) AS n \(from)").first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await sql.raw("""
                SELECT d.*, e.session_id, e.webhook_type, e.sequence \(from)
                ORDER BY d.created_at DESC LIMIT \(bind: limit) OFFSET \(bind: offset)
                """).all()
            return (total, try rows.map(SQLWebhookDeliveryRepository.logEntry))
        }
    }
}
