import Foundation
import SQLKit
import ClearanceDomain

/// A delivery a worker has claimed: what to send and where.
public struct ClaimedDelivery: Sendable {
    public var id: String
    public var eventID: String
    public var destinationID: String
    public var environment: KeyEnvironment
    public var attempts: Int
    /// The event, opened in the claiming transaction; nil when its payload
    /// was erased (`shredded`) or it is gone.
    public var event: OutboxEvent?
    public var shredded: Bool

    public init(
        id: String, eventID: String, destinationID: String, environment: KeyEnvironment, attempts: Int,
        event: OutboxEvent? = nil, shredded: Bool = false
    ) {
        self.id = id
        self.eventID = eventID
        self.destinationID = destinationID
        self.environment = environment
        self.attempts = attempts
        self.event = event
        self.shredded = shredded
    }
}

public enum DeliveryOutcome: Sendable, Equatable {
    case delivered(statusCode: Int)
    /// Try again at `at`.
    case retry(at: Date, statusCode: Int?, error: String)
    /// Give up (attempts exhausted, 410, payload erased, destination gone).
    case failed(statusCode: Int?, error: String)
}

/// Claiming and settling deliveries. On PostgreSQL several processes claim
/// with `FOR UPDATE SKIP LOCKED`; a claim is a lease, so a crashed worker's
/// deliveries are taken again once it runs out. On SQLite one writer claims.
public struct SQLWebhookDeliveryRepository: Sendable {
    let database: any Database
    let outbox: SQLWebhookOutboxRepository

    public init(database: any Database, outbox: SQLWebhookOutboxRepository) {
        self.database = database
        self.outbox = outbox
    }

    /// Up to `limit` deliveries due now (oldest first), then lapsed leases,
    /// marked in flight until `lease` from now, each with its event opened
    /// so that sending needs no further read. Two index-backed queries
    /// rather than one with OR, which scanned the whole backlog per claim.
    public func claim(now: Date, lease: TimeInterval, limit: Int) async throws -> [ClaimedDelivery] {
        let nowMS = Timestamp.milliseconds(now)
        let leaseMS = Timestamp.milliseconds(now.addingTimeInterval(lease))
        let skipLocked = database.kind == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        return try await database.transaction { sql in
            var rows = try await sql.raw("""
                SELECT id, event_id, destination_id, attempts FROM webhook_deliveries
                WHERE status = 'pending' AND next_attempt_at <= \(bind: nowMS)
                ORDER BY next_attempt_at LIMIT \(bind: limit)\(unsafeRaw: skipLocked)
                """).all()
            if rows.count < limit {
                rows += try await sql.raw("""
                    SELECT id, event_id, destination_id, attempts FROM webhook_deliveries
                    WHERE status = 'in_flight' AND lease_until <= \(bind: nowMS)
                    ORDER BY lease_until LIMIT \(bind: limit - rows.count)\(unsafeRaw: skipLocked)
                    """).all()
            }
            if rows.isEmpty { return [] }
            let ids = try rows.map { try $0.decode(column: "id", as: String.self) }
            try await sql.raw("""
                UPDATE webhook_deliveries SET status = 'in_flight', lease_until = \(bind: leaseMS)
                WHERE id IN (\(binds: ids))
                """).run()
            let eventIDs = Array(Set(try rows.map { try $0.decode(column: "event_id", as: String.self) }))
            var events: [String: (row: any SQLRow, opened: (event: OutboxEvent?, shredded: Bool))] = [:]
            for row in try await sql.raw("SELECT * FROM webhook_events WHERE event_id IN (\(binds: eventIDs))").all() {
                events[try row.decode(column: "event_id", as: String.self)] = (row, try await outbox.open(row, on: sql))
            }
            return try rows.map { row in
                let eventID = try row.decode(column: "event_id", as: String.self)
                let event = events[eventID]
                return ClaimedDelivery(
                    id: try row.decode(column: "id", as: String.self), eventID: eventID,
                    destinationID: try row.decode(column: "destination_id", as: String.self),
                    environment: try event.flatMap { KeyEnvironment(rawValue: try $0.row.decode(column: "environment", as: String.self)) } ?? .live,
                    attempts: try row.decode(column: "attempts", as: Int.self),
                    event: event?.opened.event, shredded: event?.opened.shredded ?? true)
            }
        }
    }

    public func settle(_ delivery: ClaimedDelivery, outcome: DeliveryOutcome, now: Date, duration: TimeInterval = 0) async throws {
        let attempts = delivery.attempts + 1
        try await database.transaction { sql in
            let (code, error): (Int?, String?) = switch outcome {
            case .delivered(let code): (code, nil)
            case .retry(_, let code, let error), .failed(let code, let error): (code, error)
            }
            try await sql.raw("""
                INSERT INTO webhook_attempts (delivery_id, number, at, status_code, duration_ms, error)
                VALUES (\(bind: delivery.id), \(bind: attempts), \(bind: Timestamp.milliseconds(now)), \(bind: code),
                \(bind: Int64(duration * 1000)), \(bind: error))
                """).run()
            switch outcome {
            case .delivered(let code):
                try await sql.raw("""
                    UPDATE webhook_deliveries SET status = 'delivered', attempts = \(bind: attempts), lease_until = NULL,
                    last_status_code = \(bind: code), last_error = NULL, delivered_at = \(bind: Timestamp.milliseconds(now))
                    WHERE id = \(bind: delivery.id)
                    """).run()
            case .retry(let at, let code, let error):
                try await sql.raw("""
                    UPDATE webhook_deliveries SET status = 'pending', attempts = \(bind: attempts), lease_until = NULL,
                    next_attempt_at = \(bind: Timestamp.milliseconds(at)), last_status_code = \(bind: code), last_error = \(bind: error)
                    WHERE id = \(bind: delivery.id)
                    """).run()
            case .failed(let code, let error):
                try await sql.raw("""
                    UPDATE webhook_deliveries SET status = 'failed', attempts = \(bind: attempts), lease_until = NULL,
                    last_status_code = \(bind: code), last_error = \(bind: error) WHERE id = \(bind: delivery.id)
                    """).run()
            }
        }
    }

    /// `410 Gone` switches the destination off.
    public func disableDestination(id: String, now: Date) async throws {
        try await database.transaction { sql in
            try await sql.raw("""
                UPDATE webhook_destinations SET enabled = \(bind: false), updated_at = \(bind: Timestamp.milliseconds(now)) WHERE id = \(bind: id)
                """).run()
        }
    }

    /// Sends a delivery again as soon as a worker is free.
    public func resend(id: String, now: Date) async throws {
        try await database.transaction { sql in
            try await sql.raw("""
                UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = \(bind: Timestamp.milliseconds(now)),
                lease_until = NULL WHERE id = \(bind: id)
                """).run()
            try await database.announceOnCommit(.webhooks, on: sql)
        }
    }

    /// When the earliest pending delivery comes due or an in-flight lease
    /// runs out; nil when nothing waits.
    public func nextDue() async throws -> Date? {
        try await database.read { sql in
            let row = try await sql.raw("""
                SELECT (SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending') AS pending,
                (SELECT MIN(lease_until) FROM webhook_deliveries WHERE status = 'in_flight') AS leased
                """).first()
            let times = [
                try row?.decode(column: "pending", as: Int64?.self), try row?.decode(column: "leased", as: Int64?.self),
            ].compactMap { $0 }
            return times.min().map(Timestamp.date(milliseconds:))
        }
    }

    public struct LogEntry: Sendable {
        public var id: String
        public var eventID: String
        public var destinationID: String
        public var sessionID: String?
        public var webhookType: String
        public var sequence: Int64
        public var status: String
        public var attempts: Int
        public var lastStatusCode: Int?
        public var lastError: String?
        public var createdAt: Date
        public var deliveredAt: Date?
        public var nextAttemptAt: Date
    }

    public struct Attempt: Sendable {
        public var number: Int
        public var at: Date
        public var statusCode: Int?
        public var durationMS: Int64
        public var error: String?
    }

    /// The log, newest first: of a destination, of a session, or one delivery.
    public func log(destinationID: String? = nil, sessionID: String? = nil, deliveryID: String? = nil, limit: Int, offset: Int)
        async throws -> (total: Int, items: [LogEntry])
    {
        try await database.read { sql in
            var conditions: [String] = []
            var binds: [String] = []
            if let destinationID { conditions.append("d.destination_id = "); binds.append(destinationID) }
            if let sessionID { conditions.append("e.session_id = "); binds.append(sessionID) }
            if let deliveryID { conditions.append("d.id = "); binds.append(deliveryID) }
            var whereClause = SQLQueryString("")
            for (index, condition) in conditions.enumerated() {
                whereClause.appendInterpolation(unsafeRaw: index == 0 ? " WHERE " : " AND ")
                whereClause.appendInterpolation(unsafeRaw: condition)
                whereClause.appendInterpolation(bind: binds[index])
            }
            let from: SQLQueryString = "FROM webhook_deliveries d JOIN webhook_events e ON e.event_id = d.event_id"
            let total = try await sql.raw("SELECT COUNT(*) AS n \(from)\(whereClause)").first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await sql.raw("""
                SELECT d.*, e.session_id, e.webhook_type, e.sequence \(from)\(whereClause)
                ORDER BY d.created_at DESC, e.sequence DESC LIMIT \(bind: limit) OFFSET \(bind: offset)
                """).all()
            return (total, try rows.map(Self.logEntry))
        }
    }

    static func logEntry(_ row: any SQLRow) throws -> LogEntry {
        LogEntry(
            id: try row.decode(column: "id", as: String.self), eventID: try row.decode(column: "event_id", as: String.self),
            destinationID: try row.decode(column: "destination_id", as: String.self),
            sessionID: try row.decode(column: "session_id", as: String?.self),
            webhookType: try row.decode(column: "webhook_type", as: String.self),
            sequence: try row.decode(column: "sequence", as: Int64.self),
            status: try row.decode(column: "status", as: String.self), attempts: try row.decode(column: "attempts", as: Int.self),
            lastStatusCode: try row.decode(column: "last_status_code", as: Int?.self),
            lastError: try row.decode(column: "last_error", as: String?.self),
            createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            deliveredAt: try row.decode(column: "delivered_at", as: Int64?.self).map(Timestamp.date(milliseconds:)),
            nextAttemptAt: Timestamp.date(milliseconds: try row.decode(column: "next_attempt_at", as: Int64.self)))
    }

    public func attempts(deliveryID: String) async throws -> [Attempt] {
        try await database.read { sql in
            try await sql.raw("SELECT * FROM webhook_attempts WHERE delivery_id = \(bind: deliveryID) ORDER BY number").all().map {
                Attempt(
                    number: try $0.decode(column: "number", as: Int.self),
                    at: Timestamp.date(milliseconds: try $0.decode(column: "at", as: Int64.self)),
                    statusCode: try $0.decode(column: "status_code", as: Int?.self),
                    durationMS: try $0.decode(column: "duration_ms", as: Int64.self), error: try $0.decode(column: "error", as: String?.self))
            }
        }
    }

    public typealias Summary = (total: Int, failed: Int, averageMS: Double?, last: Date?)

    /// `summary` of each destination, in two grouped queries whatever the
    /// number of destinations.
    public func summaries(destinationIDs: [String]) async throws -> [String: Summary] {
        guard !destinationIDs.isEmpty else { return [:] }
        return try await database.read { sql in
            var result: [String: Summary] = [:]
            for id in destinationIDs { result[id] = (0, 0, nil, nil) }
            let totals = try await sql.select()
                .column("destination_id")
                .column(SQLFunction("COUNT", args: SQLLiteral.all), as: "total")
                .column(SQLRaw("CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT)"), as: "failed")
                .column(SQLFunction("MAX", args: SQLColumn("delivered_at")), as: "last")
                .from("webhook_deliveries").where("destination_id", .in, destinationIDs).groupBy("destination_id").all()
            for row in totals {
                let id = try row.decode(column: "destination_id", as: String.self)
                result[id]?.total = try row.decode(column: "total", as: Int.self)
                result[id]?.failed = try row.decode(column: "failed", as: Int.self)
                result[id]?.last = try row.decode(column: "last", as: Int64?.self).map(Timestamp.date(milliseconds:))
            }
            let averages = try await sql.select()
                .column(SQLColumn("destination_id", table: "d"))
                .column(SQLRaw("CAST(AVG(a.duration_ms) AS DOUBLE PRECISION)"), as: "average")
                .from(SQLAlias(SQLIdentifier("webhook_attempts"), as: SQLIdentifier("a")))
                .join(SQLAlias(SQLIdentifier("webhook_deliveries"), as: SQLIdentifier("d")), method: SQLJoinMethod.inner,
                      on: SQLColumn("id", table: "d"), .equal, SQLColumn("delivery_id", table: "a"))
                .where(SQLColumn("destination_id", table: "d"), .in, SQLBind.group(destinationIDs))
                .groupBy(SQLColumn("destination_id", table: "d")).all()
            for row in averages {
                result[try row.decode(column: "destination_id", as: String.self)]?.averageMS =
                    try row.decode(column: "average", as: Double?.self)
            }
            return result
        }
    }

    /// Counts by status, for tests and metrics.
    public func counts() async throws -> [String: Int] {
        try await database.countsByStatus(in: "webhook_deliveries")
    }
}
