import Foundation
import SQLKit
import Testing
import ClearanceStore
import ClearanceTestSupport

@Suite("Migrations")
struct MigrationTests {
    @Test func applyAllThenNothingOnTheSecondRun() async throws {
        try await TestDatabase.withStore(migrate: false) { store, _ in
            let migrator = Migrator(database: store.database)
            let first = try await migrator.migrate()
            #expect(first == Migrations.all.map(\.version))
            #expect(try await migrator.migrate().isEmpty)
            #expect(try await migrator.appliedVersions() == Migrations.all.map(\.version))
        }
    }

    /// Ranges are reserved per feature (0030–0039: the reviewer console), so
    /// gaps are expected; order and uniqueness are not negotiable.
    @Test func migrationsAreNumberedInOrderWithoutRepeats() {
        let versions = Migrations.all.map(\.version)
        #expect(versions == versions.sorted())
        #expect(Set(versions).count == versions.count)
        #expect(versions.first == 1)
        #expect(Set(Migrations.all.map(\.name)).count == versions.count)
    }

    @Test func aDatabaseFromANewerBinaryIsRefused() async throws {
        try await TestDatabase.withStore { store, _ in
            try await store.database.transaction { sql in
                try await sql.insert(into: "schema_migrations").columns("version", "name", "applied_at")
                    .values(SQLBind(9999), SQLBind("from_the_future"), SQLBind(0)).run()
            }
            let error = await #expect(throws: Migrator.SchemaTooNew.self) {
                try await Migrator(database: store.database).migrate()
            }
            #expect(error?.databaseVersion == 9999)
            #expect(error?.description.contains("newer clearance") == true)
        }
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        let (database, location) = try await TestDatabase.makeEmpty()
        // A second connection set, as a second process would have.
        let other = try await DatabaseFactory.open(location, logger: TestDatabase.logger)
        async let a = Migrator(database: database).migrate()
        async let b = Migrator(database: other).migrate()
        let (first, second) = try await (a, b)
        #expect((first + second).sorted() == Migrations.all.map(\.version))
        let count = try await database.read { sql in
            try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n")
                .from("schema_migrations").first()?.decode(column: "n", as: Int.self)
        }
        #expect(count == Migrations.all.count)
        await other.close()
        await database.close()
        try await TestDatabase.drop(location)
    }
}

@Suite("Database locations")
struct DatabaseLocationTests {
    @Test func parsesPostgresURLs() throws {
        let location = try DatabaseLocation.parse("postgres://app:s%40cret@db.internal:6543/clearance?sslmode=require")
        guard case .postgres(let postgres) = location else { Issue.record("not postgres"); return }
        #expect(postgres.host == "db.internal")
        #expect(postgres.port == 6543)
        #expect(postgres.username == "app")
        #expect(postgres.password == "s@cret")
        #expect(postgres.database == "clearance")
        #expect(postgres.requireTLS)
        #expect(!location.redacted.contains("cret"))
        #expect(try DatabaseLocation.parse(location.url) == location)
    }

    @Test func parsesSQLitePaths() throws {
        #expect(try DatabaseLocation.parse("sqlite:///var/lib/c.db") == .sqliteFile(path: "/var/lib/c.db"))
        #expect(try DatabaseLocation.parse("data/c.db") == .sqliteFile(path: "data/c.db"))
    }

    @Test(arguments: ["", "mysql://x@y/z", "postgres://host/db", "postgres://u@host/", "postgres://u@h/d?sslmode=maybe", "sqlite://"])
    func rejectsBadURLs(_ text: String) {
        #expect(throws: DatabaseLocation.ParseError.self) { try DatabaseLocation.parse(text) }
    }
}
