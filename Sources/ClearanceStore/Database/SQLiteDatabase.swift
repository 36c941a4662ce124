import Foundation
import Logging
import NIOConcurrencyHelpers
import SQLKit
import SQLiteKit

/// The embedded default. One writer connection that runs queued transactions
/// in group-committed batches (`SQLiteWriteQueue`: transactions never meet
/// SQLITE_BUSY inside this process, and share fsyncs), and a few reader
/// connections that see committed data through WAL. The writer runs
/// statements through SQLite's C API in the drain task
/// (`DirectSQLiteConnection`); readers use SQLiteNIO's thread pool.
final class SQLiteDatabase: Database {
    let kind = DatabaseKind.sqlite
    private let writes: SQLiteWriteQueue
    private let readers: AsyncPool<SQLiteConnection>
    private let logger: Logger
    private let closed = NIOLockedValueBox(false)

    private init(writer: DirectSQLiteConnection, readers: [SQLiteConnection], logger: Logger) {
        self.writes = SQLiteWriteQueue(database: DirectSQLiteDatabase(connection: writer, logger: logger), logger: logger)
        self.readers = AsyncPool(readers)
        self.logger = logger
    }

    static func open(path: String, logger: Logger, readerCount: Int = 4) async throws -> SQLiteDatabase {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let writer = try DirectSQLiteConnection(path: path)
        // WAL lets readers run beside the writer; FULL keeps every
        // acknowledged commit across a power cut, not only a crash.
        for pragma in [
            "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON",
            "PRAGMA busy_timeout = 10000",
        ] {
            try writer.execute(pragma, binds: [], onRow: { _ in })
        }
        var readers: [SQLiteConnection] = []
        do {
            for _ in 0..<readerCount {
                let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
                readers.append(reader)
                try await configure(reader, statements: ["PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 10000"])
            }
        } catch {
            for reader in readers { try? await reader.close() }
            throw error
        }
        return SQLiteDatabase(writer: writer, readers: readers, logger: logger)
    }

    private static func configure(_ connection: SQLiteConnection, statements: [String]) async throws {
        let sql = connection.sql(queryLogLevel: nil)
        for statement in statements {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }

    @discardableResult
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        TransactionScope.assertOutside()
        return try await readers.withResource { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    @discardableResult
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        TransactionScope.assertOutside()
        guard !closed.withLockedValue({ $0 }) else {
            throw DirectSQLiteError(code: 21, message: "the database is closed")
        }
        return try await writes.transaction(body)
    }

    func announceOnCommit(_ channel: CommitChannel, on sql: any SQLDatabase) async throws {
        writes.announce(channel)
    }

    func signal(_ channel: CommitChannel) -> CommitSignal { writes.signals.signal(channel) }

    func close() async {
        closed.withLockedValue { $0 = true }
        for reader in readers.all { try? await reader.close() }
        // The writer closes when the last reference goes (after in-flight work).
    }
}
