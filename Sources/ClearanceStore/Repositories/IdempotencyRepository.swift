import Foundation
import SQLKit
import ClearanceDomain

/// Storage behind the `Idempotency-Key` header (`access.md`).
public protocol IdempotencyRepository: Sendable {
    func begin(_ claim: IdempotencyClaim) async throws -> IdempotencyBegin
    func complete(_ claim: IdempotencyClaim, response: StoredResponse) async throws
    func release(_ claim: IdempotencyClaim) async throws
    func purgeExpired(now: Date) async throws
}

public struct IdempotencyClaim: Sendable {
    public var principalID: String
    public var key: String
    public var requestHash: String
    public var now: Date
    /// How long a claim holds before a crashed runner's key may be retaken.
    public var lease: TimeInterval
    /// How long a finished response is replayed.
    public var retention: TimeInterval

    public init(
        principalID: String, key: String, requestHash: String, now: Date, lease: TimeInterval = 60,
        retention: TimeInterval = 24 * 3600
    ) {
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
}

public struct SQLIdempotencyRepository: IdempotencyRepository {
    let database: any Database

    public init(database: any Database) { self.database = database }

    public func begin(_ claim: IdempotencyClaim) async throws -> IdempotencyBegin {
        let now = Timestamp.milliseconds(claim.now)
        let lockedUntil = Timestamp.milliseconds(claim.now.addingTimeInterval(claim.lease))
        let expiresAt = Timestamp.milliseconds(claim.now.addingTimeInterval(claim.retention))
        return try await database.transaction { sql in
            let inserted = try await sql.insert(into: "idempotency_keys")
                .columns(
                    "principal_id", "idempotency_key", "request_hash", "state", "created_at", "locked_until",
                    "expires_at"
                )
                .values(
                    SQLBind(claim.principalID), SQLBind(claim.key), SQLBind(claim.requestHash), SQLBind("running"),
                    SQLBind(now), SQLBind(lockedUntil), SQLBind(expiresAt)
                )
                .ignoringConflicts(with: ["principal_id", "idempotency_key"])
                .returning("state")
                .all()
            if !inserted.isEmpty { return .proceed }

            guard
                let row = try await sql.select().column("*").from("idempotency_keys")
                    .where("principal_id", .equal, claim.principalID)
                    .where("idempotency_key", .equal, claim.key).for(.update).first()
            else { return .inFlight }
            let state = try row.decode(column: "state", as: String.self)
            let rowExpires = try row.decode(column: "expires_at", as: Int64.self)
            let rowLocked = try row.decode(column: "locked_until", as: Int64.self)
            let sameRequest = try row.decode(column: "request_hash", as: String.self) == claim.requestHash

            // An expired record, or a running one whose runner died, is retaken.
            if rowExpires <= now || (state == "running" && rowLocked <= now) {
                try await sql.update("idempotency_keys")
                    .set("request_hash", to: claim.requestHash).set("state", to: "running")
                    .set("response_status", to: SQLLiteral.null).set("response_content_type", to: SQLLiteral.null)
                    .set("response_body", to: SQLLiteral.null).set("created_at", to: now)
                    .set("locked_until", to: lockedUntil).set("expires_at", to: expiresAt)
                    .where("principal_id", .equal, claim.principalID)
                    .where("idempotency_key", .equal, claim.key).run()
                return .proceed
            }
            if !sameRequest { return .mismatch }
            if state == "running" { return .inFlight }
            return .replay(
                StoredResponse(
                    status: try row.decode(column: "response_status", as: Int.self),
                    contentType: try row.decode(column: "response_content_type", as: String?.self),
                    body: try row.decode(column: "response_body", as: Data?.self) ?? Data()))
        }
    }

    public func complete(_ claim: IdempotencyClaim, response: StoredResponse) async throws {
        try await database.transaction { sql in
            try await sql.update("idempotency_keys")
                .set("state", to: "done").set("response_status", to: response.status)
                .set("response_content_type", to: SQLBind(response.contentType))
                .set("response_body", to: SQLBind(response.body))
                .where("principal_id", .equal, claim.principalID)
                .where("idempotency_key", .equal, claim.key).run()
        }
    }

    public func release(_ claim: IdempotencyClaim) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "idempotency_keys")
                .where("principal_id", .equal, claim.principalID)
                .where("idempotency_key", .equal, claim.key)
                .where("state", .equal, "running").run()
        }
    }

    public func purgeExpired(now: Date) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "idempotency_keys")
                .where("expires_at", .lessThanOrEqual, Timestamp.milliseconds(now)).run()
        }
    }
}
