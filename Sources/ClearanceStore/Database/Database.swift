import Logging
import SQLKit

public enum DatabaseKind: String, Sendable {
    case sqlite
    case postgres
}

/// The one door to the database. Repositories receive an `SQLDatabase` from
/// `read` or `transaction` and never hold a connection of their own, so the
/// same SQL runs on SQLite and PostgreSQL.
public protocol Database: Sendable {
    var kind: DatabaseKind { get }

    /// Runs `body` on a connection that sees committed data.
    @discardableResult
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs `body` in one transaction: committed when it returns, rolled back
    /// when it throws.
    @discardableResult
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Closes every connection. Calls after this fail.
    func close() async
}

/// `begin`, the body, then COMMIT, or ROLLBACK when the body throws: the one
/// transaction shape both engines share.
func runTransaction<T: Sendable>(
    on sql: any SQLDatabase, begin: String, logger: Logger, _ body: @Sendable (any SQLDatabase) async throws -> T
) async throws -> T {
    try await sql.raw(SQLQueryString(begin)).run()
    do {
        let result = try await body(sql)
        try await finishTransaction("COMMIT", on: sql)
        return result
    } catch {
        do { try await finishTransaction("ROLLBACK", on: sql) } catch {
            logger.error("rollback failed", metadata: ["error": "\(String(reflecting: error))"])
        }
        throw error
    }
}

/// COMMIT and ROLLBACK run even when the calling task was cancelled: a
/// connection must never be handed back inside an open transaction.
private func finishTransaction(_ statement: String, on sql: any SQLDatabase) async throws {
    let query = SQLQueryString(statement)
    try await Task.detached { try await sql.raw(query).run() }.value
}

/// Where the database is, parsed from `CLEARANCE_DATABASE_URL`.
public enum DatabaseLocation: Sendable, Equatable {
    case sqliteFile(path: String)
    case postgres(PostgresLocation)

    public struct PostgresLocation: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String
        public var requireTLS: Bool
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Accepts `postgres://user:pass@host:port/db[?sslmode=disable|require]`,
    /// `sqlite:///abs/path.db`, `sqlite://relative.db` or a bare file path.
    public static func parse(_ text: String) throws -> DatabaseLocation {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { throw ParseError(description: "is empty") }
        if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            return .postgres(try parsePostgres(trimmed))
        }
        if trimmed.hasPrefix("sqlite://") {
            let path = String(trimmed.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw ParseError(description: "names no SQLite file") }
            return .sqliteFile(path: path)
        }
        if trimmed.contains("://") {
            throw ParseError(description: "has an unsupported scheme (use postgres:// or sqlite://)")
        }
        return .sqliteFile(path: trimmed)
    }

    private static func parsePostgres(_ text: String) throws -> PostgresLocation {
        guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw ParseError(description: "is not a valid postgres:// URL")
        }
        guard let user = components.user, !user.isEmpty else {
            throw ParseError(description: "names no user (postgres://USER@host/db)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw ParseError(description: "names no database (postgres://user@host/DB)") }
        var requireTLS = false
        for item in components.queryItems ?? [] where item.name == "sslmode" {
            switch item.value {
            case "disable", "allow", "prefer": requireTLS = false
            case "require", "verify-ca", "verify-full": requireTLS = true
            default: throw ParseError(description: "has an unknown sslmode '\(item.value ?? "")'")
            }
        }
        return PostgresLocation(
            host: host, port: components.port ?? 5432, username: user,
            password: components.password?.removingPercentEncoding, database: database, requireTLS: requireTLS)
    }

    /// The URL form that `parse` reads back (with the password).
    public var url: String {
        switch self {
        case .sqliteFile(let path): return "sqlite://\(path)"
        case .postgres(let location):
            var userInfo = location.username
            if let password = location.password {
                userInfo += ":" + (password.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) ?? password)
            }
            return "postgres://\(userInfo)@\(location.host):\(location.port)/\(location.database)"
                + (location.requireTLS ? "?sslmode=require" : "")
        }
    }

    /// Text safe to print: never the password.
    public var redacted: String {
        switch self {
        case .sqliteFile(let path): "sqlite://\(path)"
        case .postgres(let location):
            "postgres://\(location.username)@\(location.host):\(location.port)/\(location.database)"
        }
    }
}

import Foundation

public enum DatabaseFactory {
    /// Opens the database at `location`. SQLite files are created on first
    /// use, with their folder.
    public static func open(_ location: DatabaseLocation, logger: Logger) async throws -> any Database {
        switch location {
        case .sqliteFile(let path):
            return try await SQLiteDatabase.open(path: path, logger: logger)
        case .postgres(let postgres):
            return try await PostgresDatabase.open(postgres, logger: logger)
        }
    }
}
