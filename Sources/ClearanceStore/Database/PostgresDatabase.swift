import Foundation
import Logging
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
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    @discardableResult
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await runTransaction(on: connection.sql(queryLogLevel: nil), begin: "BEGIN", logger: logger, body)
        }
    }

    func close() async {
        runTask.cancel()
        _ = await runTask.value
    }
}
