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

    private let walSync: SQLiteWALSync

    private init(
        writer: DirectSQLiteConnection, walSync: SQLiteWALSync, checkpointer: SQLiteCheckpointer,
        readers: [SQLiteConnection], logger: Logger
    ) {
        self.walSync = walSync
        self.writes = SQLiteWriteQueue(
            database: DirectSQLiteDatabase(connection: writer, logger: logger), logger: logger,
            durability: { done in
                walSync.committed(done)
                checkpointer.poke()
            },
            maintenance: { checkpointer.catchUpIfDue(on: writer) })
        self.readers = AsyncPool(readers)
        self.logger = logger
    }

    static func open(
        path: String, logger: Logger, readerCount: Int = 4, syncWAL: (@Sendable () -> (any Error)?)? = nil,
        checkpointInterval: DispatchTimeInterval = .milliseconds(200), walRestartFrames: Int64 = 16384
    ) async throws -> SQLiteDatabase {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let writer = try DirectSQLiteConnection(path: path)
        // WAL lets readers run beside the writer. COMMIT does not sync
        // (NORMAL): `SQLiteWALSync` fsyncs the WAL beside the writer and
        // nobody hears of a batch before that, so every acknowledged commit
        // survives a power cut, not only a crash. Each transaction of a batch
        // is a savepoint, whose sub-journal stays in memory (a temporary file
        // per batch cost 8 % of a status change); checkpoints run beside the
        // writer (`SQLiteCheckpointer`).
        for pragma in [
            "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON",
            "PRAGMA busy_timeout = 10000", "PRAGMA temp_store = MEMORY", "PRAGMA wal_autocheckpoint = 0",
            // 16 MiB of page cache (default 2 MiB): the hot index pages of a
            // busy table stay in memory instead of being read back per batch.
            "PRAGMA cache_size = -16384",
            // A WAL that grew while checkpoints could not keep up is cut
            // back to 128 MiB when it starts over (`SQLiteCheckpointer`);
            // below that it is reused in place, never re-zeroed.
            "PRAGMA journal_size_limit = 134217728",
        ] {
            try writer.execute(pragma, binds: [], onRow: { _ in })
        }
        let checkpointer = try SQLiteCheckpointer(path: path, interval: checkpointInterval, restartFrames: walRestartFrames)
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
        return SQLiteDatabase(
            writer: writer, walSync: SQLiteWALSync(databasePath: path, sync: syncWAL), checkpointer: checkpointer, readers: readers,
            logger: logger)
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
        // Reads never see a batch that is committed but not yet on disk.
        await walSync.waitDurable()
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
        return try await CommitHooks.around(body) { body in try await writes.transaction(body) }
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
