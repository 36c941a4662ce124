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

    public init(database: any Database) { self.database = database }

    public func claim(now: Date, lease: TimeInterval, limit: Int) async throws -> [ClaimedDelivery] {
        let nowMS = Timestamp.milliseconds(now)
        let leaseMS = Timestamp.milliseconds(now.addingTimeInterval(lease))
        let skipLocked = database.kind == .postgres ? " FOR UPDATE OF d SKIP LOCKED" : ""
        return try await database.transaction { sql in
            let due = try await sql.raw("""
                SELECT d.id, d.event_id, d.destination_id, d.attempts, e.environment FROM webhook_deliveries d
                JOIN webhook_events e ON e.event_id = d.event_id
                WHERE (d.status = 'pending' AND d.next_attempt_at <= \(bind: nowMS))
                   OR (d.status = 'in_flight' AND d.lease_until <= \(bind: nowMS))
                ORDER BY d.next_attempt_at, e.sequence LIMIT \(bind: limit)\(unsafeRaw: skipLocked)
                """).all()
            var claimed: [ClaimedDelivery] = []
            for row in due {
                let id = try row.decode(column: "id", as: String.self)
                try await sql.raw("""
                    UPDATE webhook_deliveries SET status = 'in_flight', lease_until = \(bind: leaseMS) WHERE id = \(bind: id)
                    """).run()
                claimed.append(
                    ClaimedDelivery(
                        id: id, eventID: try row.decode(column: "event_id", as: String.self),
                        destinationID: try row.decode(column: "destination_id", as: String.self),
                        environment: KeyEnvironment(rawValue: try row.decode(column: "environment", as: String.self)) ?? .live,
                        attempts: try row.decode(column: "attempts", as: Int.self)))
            }
            return claimed
        }
    }

    public func settle(_ delivery: ClaimedDelivery, outcome: DeliveryOutcome, now: Date) async throws {
        let attempts = delivery.attempts + 1
        try await database.transaction { sql in
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

    /// Counts by status, for tests and metrics.
    public func counts() async throws -> [String: Int] {
        try await database.read { sql in
            var counts: [String: Int] = [:]
            for row in try await sql.raw("SELECT status, COUNT(*) AS n FROM webhook_deliveries GROUP BY status").all() {
                counts[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self)
            }
            return counts
        }
    }
}
