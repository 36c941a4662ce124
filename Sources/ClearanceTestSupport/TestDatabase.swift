import Crypto
import Foundation
import Logging
import SQLKit
import ClearanceStore

/// A fresh, migrated database for one test, on the engine the suite runs
/// against: SQLite in a temporary file by default, PostgreSQL (a new
/// database on the server at `CLEARANCE_TEST_POSTGRES_URL`) when that is set.
public enum TestDatabase {
    public static var postgresAdminURL: String? {
        ProcessInfo.processInfo.environment["CLEARANCE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public static var engine: DatabaseKind { postgresAdminURL == nil ? .sqlite : .postgres }

    /// Logs everything, trace and up, into `LogCapture` (warnings and worse
    /// also to standard error), so a test server can check that no secret
    /// reached its log.
    public static let logger: Logger = {
        _ = LogCapture.bootstrap
        var logger = Logger(label: "clearance.test")
        logger.logLevel = .trace
        return logger
    }()

    /// An empty (unmigrated) database and the location that reaches it.
    public static func makeEmpty() async throws -> (any Database, DatabaseLocation) {
        let location = try await freshLocation()
        return (try await DatabaseFactory.open(location, logger: logger), location)
    }

    /// Runs `body` with a migrated store and cleans up afterwards.
    public static func withStore<T: Sendable>(
        migrate: Bool = true, _ body: @Sendable (Store, DatabaseLocation) async throws -> T
    ) async throws -> T {
        try await TestSlots.run { try await withStoreNow(migrate: migrate, body) }
    }

    private static func withStoreNow<T: Sendable>(
        migrate: Bool, _ body: @Sendable (Store, DatabaseLocation) async throws -> T
    ) async throws -> T {
        let location = try await freshLocation(migrated: migrate)
        let database = try await DatabaseFactory.open(location, logger: logger)
        let result: T
        do {
            if migrate, case .sqliteFile = location { try await Migrator(database: database).migrate() }
            let store = Store(database: database, sealer: Sealer(key: SymmetricKey(size: .bits256)))
            result = try await body(store, location)
        } catch {
            await database.close()
            try? await drop(location)
            throw error
        }
        await database.close()
        try? await drop(location)
        return result
    }

    /// A new location: a temporary SQLite path (always empty) or a new
    /// PostgreSQL database, empty or, with `migrated`, copied from the
    /// migrated template.
    public static func freshLocation(migrated: Bool = false) async throws -> DatabaseLocation {
        let name = "clearance_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        guard let adminURL = postgresAdminURL else {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return .sqliteFile(path: directory.appendingPathComponent("clearance.db").path)
        }
        guard case .postgres(var postgres) = try DatabaseLocation.parse(adminURL) else {
            fatalError("CLEARANCE_TEST_POSTGRES_URL must be a postgres:// URL")
        }
        let template = migrated ? try await PostgresTemplate.shared.name(admin: postgres) : nil
        try await createDatabase(name, from: template, admin: postgres)
        postgres.database = name
        return .postgres(postgres)
    }

    static func createDatabase(_ name: String, from template: String?, admin: DatabaseLocation.PostgresLocation) async throws {
        try await onServer(admin) { sql in
            if let template {
                try await sql.raw("CREATE DATABASE \(ident: name) TEMPLATE \(ident: template)").run()
            } else {
                try await sql.raw("CREATE DATABASE \(ident: name)").run()
            }
        }
    }

    /// Runs `body` on a connection to `location` opened for it alone (the
    /// admin database, for statements no transaction may hold).
    static func onServer<T: Sendable>(
        _ location: DatabaseLocation.PostgresLocation, _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        let database = try await DatabaseFactory.open(.postgres(location), logger: logger)
        do {
            let result = try await database.read(body)
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }

    public static func drop(_ location: DatabaseLocation) async throws {
        switch location {
        case .sqliteFile(let path):
            try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
        case .postgres(var postgres):
            let name = postgres.database
            postgres.database = (try? DatabaseLocation.parse(postgresAdminURL ?? "")).flatMap {
                if case .postgres(let admin) = $0 { return admin.database }
                return nil
            } ?? "postgres"
            try? await onServer(postgres) { sql in try await sql.raw("DROP DATABASE IF EXISTS \(ident: name) WITH (FORCE)").run() }
        }
    }
}
