import Foundation
@testable import ClearanceStore

/// The path of a fresh SQLite file in its own temporary directory, removed
/// (with the WAL and shared-memory files beside it) once `body` returns.
func withTemporarySQLiteFile<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clearance-store-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory.appendingPathComponent("clearance.db").path)
}

/// A fresh SQLite database with the default settings in a file of its own,
/// closed once `body` returns or throws; `body` gets its path too.
func withTemporarySQLiteDatabase<T>(_ body: (SQLiteDatabase, String) async throws -> T) async throws -> T {
    try await withTemporarySQLiteFile { path in
        let database = try await SQLiteDatabase.open(path: path, logger: .init(label: "test"))
        do {
            let value = try await body(database, path)
            await database.close()
            return value
        } catch {
            await database.close()
            throw error
        }
    }
}
