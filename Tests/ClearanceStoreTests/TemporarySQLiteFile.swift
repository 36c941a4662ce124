import Foundation

/// The path of a fresh SQLite file in its own temporary directory, removed
/// (with the WAL and shared-memory files beside it) once `body` returns.
func withTemporarySQLiteFile<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clearance-store-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory.appendingPathComponent("clearance.db").path)
}
