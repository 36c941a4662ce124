import Foundation
import Logging
import SQLKit
import SQLiteKit

/// The embedded default. One writer connection, taken by one transaction at
/// a time (so transactions never meet SQLITE_BUSY inside this process), and
/// a few reader connections that see committed data through WAL.
final class SQLiteDatabase: Database {
    let kind = DatabaseKind.sqlite
    private let writer: SQLiteConnection
    private let writeLock = AsyncLock()
    private let readers: AsyncPool<SQLiteConnection>
    private let logger: Logger

    private init(writer: SQLiteConnection, readers: [SQLiteConnection], logger: Logger) {
        self.writer = writer
        self.readers = AsyncPool(readers)
        self.logger = logger
    }

    static func open(path: String, logger: Logger, readerCount: Int = 4) async throws -> SQLiteDatabase {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        do {
            // WAL lets readers run beside the writer; FULL keeps every
            // acknowledged commit across a power cut, not only a crash.
            try await configure(writer, statements: [
                "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON",
                "PRAGMA busy_timeout = 10000",
            ])
            var readers: [SQLiteConnection] = []
            for _ in 0..<readerCount {
                let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
                try await configure(reader, statements: ["PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 10000"])
                readers.append(reader)
            }
            return SQLiteDatabase(writer: writer, readers: readers, logger: logger)
        } catch {
            try? await writer.close()
            throw error
        }
    }

    private static func configure(_ connection: SQLiteConnection, statements: [String]) async throws {
        let sql = connection.sql(queryLogLevel: nil)
        for statement in statements {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }

    @discardableResult
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await readers.withResource { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    @discardableResult
    func transaction<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await writeLock.withLock {
            // IMMEDIATE takes the write lock now, so another process (a CLI
            // command beside `serve`) waits on busy_timeout instead of failing
            // at commit.
            try await runTransaction(on: writer.sql(queryLogLevel: nil), begin: "BEGIN IMMEDIATE", logger: logger, body)
        }
    }

    func close() async {
        for reader in readers.all { try? await reader.close() }
        try? await writer.close()
    }
}
