import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import ClearanceServer
import ClearanceStore

/// Options of every command that works on the database directly.
public struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory (CLEARANCE_DATA_DIR, default ./.clearance).")
    var dataDirectory: String?

    @Option(name: .customLong("database-url"), help: "sqlite://PATH or postgres://… (CLEARANCE_DATABASE_URL).")
    var databaseURL: String?

    @Option(
        name: .customLong("data-key-file"),
        help: "Data key file, created 0600 on first start (CLEARANCE_DATA_KEY_FILE, default DATA_DIR/data.key).")
    var dataKeyFile: String?

    public init() {}
}

/// Options of commands that talk to a running server through the client.
public struct ClientOptions: ParsableArguments {
    @Option(help: "Server base URL (CLEARANCE_SERVER, default http://127.0.0.1:8080).")
    var server: String?

    @Option(name: .customLong("api-key"), help: "API key (CLEARANCE_API_KEY).")
    var apiKey: String?

    public init() {}
}

/// A failure after configuration was accepted: one line, exit status 1.
public struct CommandFailure: Error, CustomStringConvertible {
    public var description: String
    public var exitCode: Int32 = 1
    public init(_ description: String, exitCode: Int32 = 1) {
        self.description = description
        self.exitCode = exitCode
    }
}

enum Runtime {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func logger() -> Logger { Logger(label: "clearance") }

    static func location(_ options: StoreOptions) throws -> (DatabaseLocation, String) {
        let dataDirectory = try Settings.dataDirectory(flag: options.dataDirectory, environment: environment)
        let location = try Settings.database(
            flag: options.databaseURL, dataDirectory: dataDirectory, environment: environment)
        return (location, dataDirectory)
    }

    static func openDatabase(_ location: DatabaseLocation) async throws -> any Database {
        do {
            return try await DatabaseFactory.open(location, logger: logger())
        } catch {
            throw CommandFailure("cannot open the database \(location.redacted): \(String(describing: error))")
        }
    }

    /// Runs a long-lived command, then (however it ends) shuts the webhook
    /// client down and closes the database.
    static func run(store: Store, http: HTTPClient, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            try? await http.shutdown()
            await store.database.close()
            throw error
        }
        try? await http.shutdown()
        await store.database.close()
    }

    /// Opens the database, checks (or applies) its schema and loads the data
    /// key: the store every database command works on.
    static func openStore(_ options: StoreOptions, migrate: Bool) async throws -> Store {
        let (location, dataDirectory) = try location(options)
        let database = try await openDatabase(location)
        do {
            let migrator = Migrator(database: database)
            if migrate {
                try await migrator.migrate()
            } else {
                try await migrator.checkNotNewer()
                let applied = try await migrator.appliedVersions()
                if applied.last ?? 0 < Migrations.latestVersion {
                    throw CommandFailure(
                        "the database schema is at version \(applied.last ?? 0) and this binary needs \(Migrations.latestVersion): run `clearance migrate`"
                    )
                }
            }
            let keyFile = Settings.dataKeyFile(
                flag: options.dataKeyFile, dataDirectory: dataDirectory, environment: environment)
            let (sealer, origin) = try await DataKey.load(
                environmentValue: environment["CLEARANCE_DATA_KEY"], keyFilePath: keyFile, database: database)
            if case .createdFile(let path) = origin {
                logger().notice("created a new data key", metadata: ["path": "\(path)"])
            }
            return Store(database: database, sealer: sealer)
        } catch let error as Migrator.SchemaTooNew {
            await database.close()
            throw CommandFailure(error.description)
        } catch let error as DataKey.Failure {
            await database.close()
            throw ConfigurationError(setting: error.setting, error.description)
        } catch {
            await database.close()
            throw error
        }
    }
}
