import Foundation
import SQLKit
import ClearanceDomain

/// Storage behind the `Idempotency-Key` header (`access.md`). A key is
/// `running` while a request holds it, `applied` once a transaction of that
/// request committed (`markApplied`, in the same transaction), `done` once
/// its answer is stored. Every write after `begin` names the claim's token,
/// so a request whose lease lapsed and was retaken changes nothing.
public protocol IdempotencyRepository: Sendable {
    func begin(_ claim: IdempotencyClaim) async throws -> IdempotencyBegin
    /// Inside a transaction of the claim's request: marks the key applied
    /// with it, or done with `answer` when the answer could be rendered
    /// there. Throws `IdempotencyClaimLost` when the claim is no longer held.
    func markApplied(_ claim: IdempotencyClaim, answer: StoredResponse?, on sql: any SQLDatabase) async throws
    func complete(_ claim: IdempotencyClaim, response: StoredResponse) async throws
    func release(_ claim: IdempotencyClaim) async throws
    func purgeExpired(now: Date) async throws
}

/// The claim's lease lapsed and another request took the key: the change
/// this request was about to commit is rolled back.
public struct IdempotencyClaimLost: Error, Sendable {}

public struct IdempotencyClaim: Sendable {
    public var principalID: String
    public var key: String
    public var requestHash: String
    public var now: Date
    /// How long a claim holds before a crashed runner's key may be retaken.
    public var lease: TimeInterval
    /// How long a finished response is replayed.
    public var retention: TimeInterval
    /// This claimant: a later claim on the same key (after the lease) has
    /// another, and writes by this one then match nothing.
    public var token: String

    public init(
        principalID: String, key: String, requestHash: String, now: Date, lease: TimeInterval = 60,
        retention: TimeInterval = 24 * 3600, token: String = Identifier.random()
    ) {
        self.token = token
        self.principalID = principalID
        self.key = key
        self.requestHash = requestHash
        self.now = now
        self.lease = lease
        self.retention = retention
    }
}

public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var body: Data

    public init(status: Int, contentType: String?, body: Data) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

public enum IdempotencyBegin: Sendable, Equatable {
    /// This request owns the key: run it, then `complete` or `release`.
    case proceed
    /// A finished earlier request with the same body: answer with this.
    case replay(StoredResponse)
    /// The same key is running now.
    case inFlight
    /// The key was used for a different request.
    case mismatch
    /// An earlier request with this key committed its change but stopped
    /// (the process died) before its answer was stored: it is not run again.
    case appliedAnswerLost
}

public struct SQLIdempotencyRepository: IdempotencyRepository {
    let database: any Database
    /// Stored answers are sealed: they can hold an API key's secret, a
    /// session token or personal data, kept for 24 h.
    let sealer: Sealer

    public init(database: any Database, sealer: Sealer) {
        self.database = database
        self.sealer = sealer
    }

    static func context(_ claim: IdempotencyClaim) -> String {
        "idempotency_keys.response_body:\(claim.principalID):\(claim.key)"
    }

    func sealed(_ body: Data, for claim: IdempotencyClaim) throws -> Data {
        try sealer.seal(body, context: Self.context(claim))
    }

    public func begin(_ claim: IdempotencyClaim) async throws -> IdempotencyBegin {
        let now = Timestamp.milliseconds(claim.now)
        let lockedUntil = Timestamp.milliseconds(claim.now.addingTimeInterval(claim.lease))
        let expiresAt = Timestamp.milliseconds(claim.now.addingTimeInterval(claim.retention))
        return try await database.transaction { sql in
            let inserted = try await sql.insert(into: "idempotency_keys")
                .columns(
                    "principal_id", "idempotency_key", "request_hash", "state", "created_at", "locked_until",
                    "expires_at", "claim_token"
                )
                .values(
                    SQLBind(claim.principalID), SQLBind(claim.key), SQLBind(claim.requestHash), SQLBind("running"),
                    SQLBind(now), SQLBind(lockedUntil), SQLBind(expiresAt), SQLBind(claim.token)
                )
                .ignoringConflicts(with: ["principal_id", "idempotency_key"])
                .returning("state")
                .all()
            if !inserted.isEmpty { return .proceed }

            // Read first without a lock: a duplicate that only answers 409,
            // 422 or a replay must not queue on the row behind the others
            // (on PostgreSQL each then waited for the one before it to commit,
            // and the runner's own mark waited behind all of them). Only a
            // retake locks, and decides again under the lock.
            func row(locking: Bool) async throws -> (any SQLRow)? {
                let select = sql.select().column("*").from("idempotency_keys")
                    .where("principal_id", .equal, claim.principalID).where("idempotency_key", .equal, claim.key)
                return try await (locking ? select.for(.update) : select).first()
            }
            guard var found = try await row(locking: false) else { return .inFlight }
            var retake = try Self.retakable(found, now: now)
            if retake {
                guard let locked = try await row(locking: true) else { return .inFlight }
                found = locked
                retake = try Self.retakable(found, now: now)
            }
            let state = try found.decode(column: "state", as: String.self)
            let rowLocked = try found.decode(column: "locked_until", as: Int64.self)
            let sameRequest = try found.decode(column: "request_hash", as: String.self) == claim.requestHash

            if retake {
                try await sql.update("idempotency_keys")
                    .set("request_hash", to: claim.requestHash).set("state", to: "running")
                    .set("claim_token", to: claim.token)
                    .set("response_status", to: SQLLiteral.null).set("response_content_type", to: SQLLiteral.null)
                    .set("response_body", to: SQLLiteral.null).set("created_at", to: now)
                    .set("locked_until", to: lockedUntil).set("expires_at", to: expiresAt)
                    .where("principal_id", .equal, claim.principalID)
                    .where("idempotency_key", .equal, claim.key).run()
                return .proceed
            }
            if !sameRequest { return .mismatch }
            if state == "running" { return .inFlight }
            // Applied, answer not yet stored: its runner is storing it, or,
            // once the lease is over, died first.
            if state == "applied" { return rowLocked <= now ? .appliedAnswerLost : .inFlight }
            // An answer that does not open (stored in the clear before
            // answers were sealed): the change was applied; say so.
            guard let stored = try found.decode(column: "response_body", as: Data?.self),
                let body = try? sealer.open(stored, context: Self.context(claim))
            else { return .appliedAnswerLost }
            return .replay(
                StoredResponse(
                    status: try found.decode(column: "response_status", as: Int.self),
                    contentType: try found.decode(column: "response_content_type", as: String?.self),
                    body: body))
        }
    }

    /// An expired record, or a running one whose runner died, is retaken.
    /// An applied one never is: its change committed.
    static func retakable(_ row: any SQLRow, now: Int64) throws -> Bool {
        let state = try row.decode(column: "state", as: String.self)
        return try row.decode(column: "expires_at", as: Int64.self) <= now
            || (state == "running" && row.decode(column: "locked_until", as: Int64.self) <= now)
    }

    public func markApplied(_ claim: IdempotencyClaim, answer: StoredResponse?, on sql: any SQLDatabase) async throws {
        var update = sql.update("idempotency_keys")
        if let answer {
            update = update.set("state", to: "done").set("response_status", to: answer.status)
                .set("response_content_type", to: SQLBind(answer.contentType))
                .set("response_body", to: SQLBind(try sealed(answer.body, for: claim)))
        } else {
            update = update.set("state", to: "applied")
        }
        let marked = try await update
            .where("principal_id", .equal, claim.principalID).where("idempotency_key", .equal, claim.key)
            .where("claim_token", .equal, claim.token).where("state", .in, ["running", "applied"])
            .returning("state").all()
        guard marked.isEmpty else { return }
        // Already answered by this claim (a later transaction of the same
        // request): nothing to mark.
        let row = try await sql.select().column("state").from("idempotency_keys")
            .where("principal_id", .equal, claim.principalID).where("idempotency_key", .equal, claim.key)
            .where("claim_token", .equal, claim.token).first()
        guard try row?.decode(column: "state", as: String.self) == "done" else { throw IdempotencyClaimLost() }
    }

    public func complete(_ claim: IdempotencyClaim, response: StoredResponse) async throws {
        try await database.transaction { sql in
            try await sql.update("idempotency_keys")
                .set("state", to: "done").set("response_status", to: response.status)
                .set("response_content_type", to: SQLBind(response.contentType))
                .set("response_body", to: SQLBind(try sealed(response.body, for: claim)))
                .where("principal_id", .equal, claim.principalID)
                .where("idempotency_key", .equal, claim.key)
                .where("claim_token", .equal, claim.token).where("state", .in, ["running", "applied"]).run()
        }
    }

    /// Frees the key for another request: only for a request that changed
    /// nothing (the middleware decides), and only while this claim holds it.
    public func release(_ claim: IdempotencyClaim) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "idempotency_keys")
                .where("principal_id", .equal, claim.principalID)
                .where("idempotency_key", .equal, claim.key)
                .where("claim_token", .equal, claim.token).where("state", .in, ["running", "applied"]).run()
        }
    }

    public func purgeExpired(now: Date) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "idempotency_keys")
                .where("expires_at", .lessThanOrEqual, Timestamp.milliseconds(now)).run()
        }
    }
}
