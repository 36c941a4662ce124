import Foundation
import SQLKit
import ClearanceDomain

/// A person who signs in to the reviewer console.
public struct ConsoleUserRecord: Sendable, Equatable {
    public var id: String
    /// Lowercased; unique.
    public var email: String
    public var displayName: String
    public var passwordHash: String
    public var roles: [ConsoleRole]
    public var failedLogins: Int
    public var lockedUntil: Date?
    public var disabledAt: Date?
    public var lastLoginAt: Date?
    public var createdAt: Date

    public init(
        id: String, email: String, displayName: String, passwordHash: String, roles: [ConsoleRole],
        failedLogins: Int = 0, lockedUntil: Date? = nil, disabledAt: Date? = nil, lastLoginAt: Date? = nil,
        createdAt: Date
    ) {
        self.id = id
        self.email = email
        self.displayName = displayName
        self.passwordHash = passwordHash
        self.roles = roles
        self.failedLogins = failedLogins
        self.lockedUntil = lockedUntil
        self.disabledAt = disabledAt
        self.lastLoginAt = lastLoginAt
        self.createdAt = createdAt
    }
}

/// A signed-in console session, found by the SHA-256 of its cookie token.
public struct ConsoleSessionRecord: Sendable, Equatable {
    public var tokenHash: String
    public var userID: String
    public var environment: KeyEnvironment
    public var createdAt: Date
    public var lastSeenAt: Date
    public var expiresAt: Date

    public init(tokenHash: String, userID: String, environment: KeyEnvironment, createdAt: Date, lastSeenAt: Date, expiresAt: Date) {
        self.tokenHash = tokenHash
        self.userID = userID
        self.environment = environment
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
    }
}

/// Console users and their sessions.
public struct ConsoleUserRepository: Sendable {
    let database: any Database

    public init(database: any Database) { self.database = database }

    public func insert(_ user: ConsoleUserRecord, on sql: any SQLDatabase) async throws {
        try await sql.insert(into: "console_users")
            .columns(
                "id", "email", "display_name", "password_hash", "roles_json", "failed_logins", "locked_until",
                "disabled_at", "last_login_at", "created_at")
            .values(
                SQLBind(user.id), SQLBind(user.email), SQLBind(user.displayName), SQLBind(user.passwordHash),
                SQLBind(Self.rolesText(user.roles)), SQLBind(user.failedLogins), SQLBind(user.lockedUntil.map(Timestamp.milliseconds)),
                SQLBind(user.disabledAt.map(Timestamp.milliseconds)), SQLBind(user.lastLoginAt.map(Timestamp.milliseconds)),
                SQLBind(Timestamp.milliseconds(user.createdAt)))
            .run()
    }

    public func find(email: String, on sql: (any SQLDatabase)? = nil) async throws -> ConsoleUserRecord? {
        try await read(sql) { sql in
            try await sql.select().column("*").from("console_users").where("email", .equal, email.lowercased()).first()
                .map(Self.user)
        }
    }

    public func find(id: String, on sql: (any SQLDatabase)? = nil) async throws -> ConsoleUserRecord? {
        try await read(sql) { sql in
            try await sql.select().column("*").from("console_users").where("id", .equal, id).first().map(Self.user)
        }
    }

    public func list() async throws -> [ConsoleUserRecord] {
        try await database.read { sql in
            try await sql.select().column("*").from("console_users").orderBy("email").all().map(Self.user)
        }
    }

    /// Records a failed login; locks the account until `lockUntil` when the
    /// count reaches `threshold`. Answers the row after the change.
    public func recordFailure(id: String, threshold: Int, lockUntil: Date, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            UPDATE console_users SET failed_logins = failed_logins + 1,
            locked_until = CASE WHEN failed_logins + 1 >= \(bind: threshold) THEN \(bind: Timestamp.milliseconds(lockUntil)) ELSE locked_until END
            WHERE id = \(bind: id)
            """).run()
    }

    public func recordSuccess(id: String, at now: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("console_users").set("failed_logins", to: 0).set("locked_until", to: SQLLiteral.null)
            .set("last_login_at", to: Timestamp.milliseconds(now)).where("id", .equal, id).run()
    }

    /// After a lock-out ends the count starts again.
    public func resetFailures(id: String, on sql: any SQLDatabase) async throws {
        try await sql.update("console_users").set("failed_logins", to: 0).set("locked_until", to: SQLLiteral.null)
            .where("id", .equal, id).run()
    }

    public func disable(id: String, at now: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("console_users").set("disabled_at", to: Timestamp.milliseconds(now)).where("id", .equal, id).run()
        try await sql.delete(from: "console_sessions").where("user_id", .equal, id).run()
    }

    // MARK: Sessions

    public func insertSession(_ session: ConsoleSessionRecord, on sql: any SQLDatabase) async throws {
        try await sql.insert(into: "console_sessions")
            .columns("token_hash", "user_id", "environment", "created_at", "last_seen_at", "expires_at")
            .values(
                SQLBind(session.tokenHash), SQLBind(session.userID), SQLBind(session.environment.rawValue),
                SQLBind(Timestamp.milliseconds(session.createdAt)), SQLBind(Timestamp.milliseconds(session.lastSeenAt)),
                SQLBind(Timestamp.milliseconds(session.expiresAt)))
            .run()
    }

    public func session(tokenHash: String) async throws -> ConsoleSessionRecord? {
        try await database.read { sql in
            guard let row = try await sql.select().column("*").from("console_sessions").where("token_hash", .equal, tokenHash).first()
            else { return nil }
            return ConsoleSessionRecord(
                tokenHash: try row.decode(column: "token_hash", as: String.self),
                userID: try row.decode(column: "user_id", as: String.self),
                environment: KeyEnvironment(rawValue: try row.decode(column: "environment", as: String.self)) ?? .live,
                createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
                lastSeenAt: Timestamp.date(milliseconds: try row.decode(column: "last_seen_at", as: Int64.self)),
                expiresAt: Timestamp.date(milliseconds: try row.decode(column: "expires_at", as: Int64.self)))
        }
    }

    public func touchSession(tokenHash: String, at now: Date, environment: KeyEnvironment? = nil) async throws {
        try await database.transaction { sql in
            var update = sql.update("console_sessions").set("last_seen_at", to: Timestamp.milliseconds(now))
            if let environment { update = update.set("environment", to: environment.rawValue) }
            try await update.where("token_hash", .equal, tokenHash).run()
        }
    }

    public func deleteSession(tokenHash: String) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "console_sessions").where("token_hash", .equal, tokenHash).run()
        }
    }

    /// Sessions past their absolute expiry; called on each sign-in.
    public func deleteExpiredSessions(now: Date, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "console_sessions").where("expires_at", .lessThanOrEqual, Timestamp.milliseconds(now)).run()
    }

    // MARK: Rows

    private func read<T: Sendable>(_ sql: (any SQLDatabase)?, _ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        if let sql { return try await body(sql) }
        return try await database.read(body)
    }

    static func rolesText(_ roles: [ConsoleRole]) -> String {
        JSONValue.array(roles.map { .string($0.rawValue) }).canonicalText
    }

    static func user(_ row: any SQLRow) throws -> ConsoleUserRecord {
        func date(_ column: String) throws -> Date? {
            try row.decode(column: column, as: Int64?.self).map(Timestamp.date(milliseconds:))
        }
        var roles: [ConsoleRole] = []
        if case .array(let items) = JSONValue(parsing: try row.decode(column: "roles_json", as: String.self)) {
            roles = items.compactMap { $0.stringValue.flatMap(ConsoleRole.init(rawValue:)) }
        }
        return ConsoleUserRecord(
            id: try row.decode(column: "id", as: String.self), email: try row.decode(column: "email", as: String.self),
            displayName: try row.decode(column: "display_name", as: String.self),
            passwordHash: try row.decode(column: "password_hash", as: String.self), roles: roles,
            failedLogins: try row.decode(column: "failed_logins", as: Int.self), lockedUntil: try date("locked_until"),
            disabledAt: try date("disabled_at"), lastLoginAt: try date("last_login_at"), createdAt: try date("created_at")!)
    }
}
