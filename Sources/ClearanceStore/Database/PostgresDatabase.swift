import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit

/// PostgreSQL: the pooled client that several Clearance processes share a
/// database through. Row locks (`FOR UPDATE`) and `SKIP LOCKED` do the
/// serializing that SQLite's single writer does on the embedded default.
final class PostgresDatabase: Database {
    let kind = DatabaseKind.postgres
    private let client: PostgresClient
    private let runTask: Task<Void, Never>
    private let logger: Logger
    private let signals = CommitSignals()
    /// The `LISTEN` connection's task, started by the first `signal` call
    /// (a worker), so one-shot CLI commands never hold a connection for it.
    private let listener = NIOLockedValueBox<Task<Void, Never>?>(nil)

    private init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        self.runTask = Task { await client.run() }
    }

    static func open(_ location: DatabaseLocation.PostgresLocation, logger: Logger) async throws -> PostgresDatabase {
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username,
            password: location.password, database: location.database,
            tls: location.requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = 16
        configuration.options.connectTimeout = .seconds(10)
        let database = PostgresDatabase(client: PostgresClient(configuration: configuration), logger: logger)
        do {
            // Fail at startup, with the server's own words, when it cannot be reached.
            _ = try await database.read { sql in try await sql.raw("SELECT 1 AS one").all() }
        } catch {
            await database.close()
            throw error
        }
        return database
    }

    @discardableResult
    func read<T: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        TransactionScope.assertOutside()
        return try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    @discardableResult
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        TransactionScope.assertOutside()
        // In a task of its own, so it runs to its end even if the caller is
        // cancelled, as on SQLite (the writer queue's detached drain): a
        // worker stopped by shutdown still records what it sent. The task
        // inherits the caller's task-locals (the commit hook among them).
        return try await Task {
            try await CommitHooks.around(body) { body in
                try await client.withConnection { connection in
                    try await runTransaction(on: connection.sql(queryLogLevel: nil), begin: "BEGIN", logger: self.logger, body)
                }
            }
        }.value
    }

    func announceOnCommit(_ channel: CommitChannel, on sql: any SQLDatabase) async throws {
        // Delivered by PostgreSQL at COMMIT, to every listening process
        // (this one included); duplicates within a transaction fold into one.
        try await sql.raw("SELECT pg_notify(\(bind: channel.rawValue), '') AS notified").run()
    }

    func signal(_ channel: CommitChannel) -> CommitSignal {
        listener.withLockedValue { task in
            if task == nil { task = Task { await self.listen() } }
        }
        return signals.signal(channel)
    }

    /// Holds one connection that `LISTEN`s on every channel and turns each
    /// notification into a wake-up; reconnects after a failure. Each
    /// (re)connection wakes every worker once, to catch up on whatever
    /// committed while nobody listened.
    private func listen() async {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await self.listen(on: connection, channels: CommitChannel.allCases[...])
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN connection lost; workers poll until it is back", metadata: ["error": "\(error)"])
            }
            signals.notify(CommitChannel.allCases)
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    private func listen(on connection: PostgresConnection, channels: ArraySlice<CommitChannel>) async throws {
        guard let channel = channels.first else {
            signals.notify(CommitChannel.allCases)
            // Every channel is listened to; wait here until cancelled.
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            return
        }
        try await connection.listen(on: channel.rawValue) { notifications in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in notifications { self.signals.signal(channel).notify() }
                    throw CancellationError()
                }
                group.addTask { try await self.listen(on: connection, channels: channels.dropFirst()) }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    func close() async {
        if let task = listener.withLockedValue({ $0 }) {
            task.cancel()
            _ = await task.value
        }
        runTask.cancel()
        _ = await runTask.value
    }
}
