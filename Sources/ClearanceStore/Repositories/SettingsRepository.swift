import Foundation
import SQLKit
import ClearanceDomain

/// Deployment-wide key/value settings.
public struct SettingsRepository: Sendable {
    let database: any Database

    public init(database: any Database) { self.database = database }

    public func get(_ key: String) async throws -> String? {
        try await database.read { sql in
            try await sql.select().column("value").from("settings").where("key", .equal, key)
                .first()?.decode(column: "value", as: String.self)
        }
    }

    public func set(_ key: String, value: String) async throws {
        try await database.transaction { sql in
            try await sql.insert(into: "settings").columns("key", "value", "updated_at")
                .values(SQLBind(key), SQLBind(value), SQLBind(Timestamp.milliseconds(Date())))
                .onConflict(with: ["key"]) { $0.set(excludedValueOf: "value").set(excludedValueOf: "updated_at") }
                .run()
        }
    }

    /// Writes only when the key has no value yet.
    public func setIfAbsent(_ key: String, value: String) async throws {
        try await database.transaction { sql in
            try await sql.insert(into: "settings").columns("key", "value", "updated_at")
                .values(SQLBind(key), SQLBind(value), SQLBind(Timestamp.milliseconds(Date())))
                .ignoringConflicts(with: ["key"])
                .run()
        }
    }

    /// Inside the caller's transaction: writes when absent and says whether
    /// this call was the one that wrote.
    public func insertIfAbsent(_ key: String, value: String, at: Date, on sql: any SQLDatabase) async throws -> Bool {
        try await !sql.insert(into: "settings").columns("key", "value", "updated_at")
            .values(SQLBind(key), SQLBind(value), SQLBind(Timestamp.milliseconds(at)))
            .ignoringConflicts(with: ["key"]).returning("key").all().isEmpty
    }

    /// Writes inside the caller's transaction.
    public func set(_ key: String, value: String, at: Date, on sql: any SQLDatabase) async throws {
        try await sql.insert(into: "settings").columns("key", "value", "updated_at")
            .values(SQLBind(key), SQLBind(value), SQLBind(Timestamp.milliseconds(at)))
            .onConflict(with: ["key"]) { $0.set(excludedValueOf: "value").set(excludedValueOf: "updated_at") }
            .run()
    }

    /// Reads inside the caller's transaction.
    public func get(_ key: String, on sql: any SQLDatabase) async throws -> String? {
        try await sql.select().column("value").from("settings").where("key", .equal, key)
            .first()?.decode(column: "value", as: String.self)
    }
}
