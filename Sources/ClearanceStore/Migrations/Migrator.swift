import Foundation
import SQLKit
import ClearanceDomain

/// Applies pending migrations, each in its own transaction, and records them
/// in `schema_migrations`. Safe to run from several processes at once: on
/// PostgreSQL an advisory lock serializes them, on SQLite the write lock does.
public struct Migrator: Sendable {
    public struct SchemaTooNew: Error, CustomStringConvertible {
        public var databaseVersion: Int
        public var binaryVersion: Int
        public var description: String {
            "the database schema is at version \(databaseVersion) but this clearance binary knows only up to \(binaryVersion); run a newer clearance"
        }
    }

    static let advisoryLockKey: Int64 = 0x636c_6561_7261  // "cleara"

    let database: any Database
    let migrations: [any Migration]

    public init(database: any Database, migrations: [any Migration] = Migrations.all) {
        self.database = database
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Versions recorded in the database, ascending.
    public func appliedVersions() async throws -> [Int] {
        try await database.transaction { sql in
            try await lock(sql)
            try await ensureTable(sql)
            return try await applied(sql)
        }
    }

    /// Refuses a database that a newer binary has migrated.
    public func checkNotNewer() async throws {
        let newest = try await appliedVersions().last ?? 0
        let known = migrations.last?.version ?? 0
        if newest > known { throw SchemaTooNew(databaseVersion: newest, binaryVersion: known) }
    }

    /// Applies what is pending; returns the versions applied now (empty when
    /// the database was up to date).
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await checkNotNewer()
        var appliedNow: [Int] = []
        for migration in migrations {
            let didApply = try await database.transaction { sql -> Bool in
                try await lock(sql)
                try await ensureTable(sql)
                if try await applied(sql).contains(migration.version) { return false }
                try await migration.apply(on: sql, kind: database.kind)
                try await sql.insert(into: "schema_migrations")
                    .columns("version", "name", "applied_at")
                    .values(SQLBind(migration.version), SQLBind(migration.name), SQLBind(Timestamp.milliseconds(Date())))
                    .run()
                return true
            }
            if didApply { appliedNow.append(migration.version) }
        }
        return appliedNow
    }

    private func lock(_ sql: any SQLDatabase) async throws {
        if database.kind == .postgres {
            try await sql.raw("SELECT pg_advisory_xact_lock(\(literal: Self.advisoryLockKey))").run()
        }
    }

    private func ensureTable(_ sql: any SQLDatabase) async throws {
        try await sql.create(table: "schema_migrations")
            .ifNotExists()
            .column("version", type: .bigint, .primaryKey(autoIncrement: false))
            .column("name", type: .text, .notNull)
            .column("applied_at", type: .bigint, .notNull)
            .run()
    }

    private func applied(_ sql: any SQLDatabase) async throws -> [Int] {
        try await sql.select().column("version").from("schema_migrations").orderBy("version")
            .all().map { try $0.decode(column: "version", as: Int.self) }
    }
}
