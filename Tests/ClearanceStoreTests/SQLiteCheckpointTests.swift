import Foundation
import SQLKit
import Testing
@testable import ClearanceStore

/// The writer runs with `wal_autocheckpoint = 0`; `SQLiteCheckpointer` is
/// what copies the WAL back into the database file.
@Suite("SQLite checkpoints beside the writer")
struct SQLiteCheckpointTests {
    @Test func committedPagesReachTheDatabaseFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clearance-checkpoint-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("clearance.db").path
        let database = try await SQLiteDatabase.open(path: path, logger: .init(label: "test"))
        try await database.transaction { sql in try await sql.raw("CREATE TABLE things (body BLOB)").run() }
        for _ in 0..<20 {
            try await database.transaction { sql in
                try await sql.raw("INSERT INTO things (body) VALUES (\(bind: Data(count: 64 * 1024)))").run()
            }
        }
        // 1.25 MiB written; without a checkpoint it all stays in the WAL.
        func fileSize() throws -> Int { try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0 }
        for _ in 0..<100 where try fileSize() < 1_000_000 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try fileSize() >= 1_000_000, "the database file holds the committed pages")
        await database.close()
    }
}
