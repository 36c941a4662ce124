import Logging
import NIOConcurrencyHelpers
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

    /// Inside a transaction: wake the workers of `channel` when it commits
    /// (in this process, and through `NOTIFY` in the others on PostgreSQL).
    func announceOnCommit(_ channel: CommitChannel, on sql: any SQLDatabase) async throws

    /// What wakes this process's workers of `channel`.
    func signal(_ channel: CommitChannel) -> CommitSignal

    /// Closes every connection. Calls after this fail.
    func close() async
}

/// The transaction a task is running, if any. It lets a repository leave
/// work for the moment before COMMIT (the audit append, which takes the one
/// contended row, `audit_head`, last: a transaction holding it then waits
/// on nothing but its COMMIT, so it can never be one end of a deadlock), and
/// catches, in debug builds (the tests), a second connection taken inside a
/// transaction: on PostgreSQL that can starve the pool under load — every
/// connection held by a transaction waiting for another — and on SQLite such
/// a read would not see the transaction's own writes.
///
/// Other contended rows a transaction changes several times (the live
/// session counts) are accumulated with `accumulate` and written once, at
/// COMMIT, before the audit append: each transaction then takes them all at
/// the same moment, in one global order, and never holds one while waiting
/// for anything but another of them or the audit head.
final class TransactionContext: Sendable {
    typealias Action = @Sendable (any SQLDatabase) async throws -> Void
    private let actions = NIOLockedValueBox<[Action]>([])
    private let flushes = NIOLockedValueBox<[Action]>([])
    private let state = NIOLockedValueBox<[String: any Sendable]>([:])
    /// The group-committed batch this transaction runs in (SQLite's writer).
    let batch: BatchAccumulator?

    init(batch: BatchAccumulator? = nil) {
        self.batch = batch
    }

    func beforeCommit(_ action: @escaping Action) {
        actions.withLockedValue { $0.append(action) }
    }

    /// Changes the transaction's value under `key` (starting from
    /// `initial`); the first change registers `flush`, which runs once at
    /// COMMIT with the final value, before every `beforeCommit` action.
    ///
    /// With `merge`, inside a group-committed batch, the final value is
    /// merged into the batch's instead and flushed once at the batch's COMMIT
    /// (`BatchAccumulator`); a transaction that rolls back merges nothing.
    func accumulate<Value: Sendable>(
        _ key: String, initial: Value, change: (inout Value) -> Void,
        merge: (@Sendable (inout Value, Value) -> Void)? = nil,
        flush: @escaping @Sendable (Value, any SQLDatabase) async throws -> Void
    ) {
        let first = state.withLockedValue { state -> Bool in
            var value = (state[key] as? Value) ?? initial
            let first = state[key] == nil
            change(&value)
            state[key] = value
            return first
        }
        guard first else { return }
        if let merge, let batch {
            flushes.withLockedValue {
                $0.append { [state] _ in
                    guard let value = state.withLockedValue({ $0[key] as? Value }) else { return }
                    batch.stage(key, value, merge: merge, flush: flush)
                }
            }
            return
        }
        flushes.withLockedValue {
            $0.append { [state] sql in
                guard let value = state.withLockedValue({ $0[key] as? Value }) else { return }
                try await flush(value, sql)
            }
        }
    }

    /// Runs what was left on the transaction's connection: the accumulated
    /// writes, then the other actions, in order.
    func finish(on sql: any SQLDatabase) async throws {
        while let flush = flushes.withLockedValue({ $0.isEmpty ? nil : $0.removeFirst() }) {
            try await flush(sql)
        }
        while let action = actions.withLockedValue({ $0.isEmpty ? nil : $0.removeFirst() }) {
            try await action(sql)
        }
    }
}

enum TransactionScope {
    @TaskLocal static var current: TransactionContext?

    static func assertOutside(_ function: StaticString = #function) {
        assert(current == nil, "\(function) took a second connection inside a transaction; pass the transaction's `sql` instead")
    }

    /// Runs `body` as a transaction's work, then what it left for COMMIT.
    static func run<T: Sendable>(
        on sql: any SQLDatabase, batch: BatchAccumulator? = nil, _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        let context = TransactionContext(batch: batch)
        return try await $current.withValue(context) {
            let value = try await body(sql)
            try await context.finish(on: sql)
            return value
        }
    }
}

/// `begin`, the body, then COMMIT, or ROLLBACK when the body throws: the one
/// transaction shape both engines share.
func runTransaction<T: Sendable>(
    on sql: any SQLDatabase, begin: String, logger: Logger, _ body: @Sendable (any SQLDatabase) async throws -> T
) async throws -> T {
    try await sql.raw(SQLQueryString(begin)).run()
    do {
        let result = try await TransactionScope.run(on: sql, body)
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

extension Database {
    /// Rows of an outbox table by `status` (tests and metrics).
    func countsByStatus(in table: String) async throws -> [String: Int] {
        try await read { sql in
            var counts: [String: Int] = [:]
            for row in try await sql.raw("SELECT status, COUNT(*) AS n FROM \(ident: table) GROUP BY status").all() {
                counts[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self)
            }
            return counts
        }
    }
}
