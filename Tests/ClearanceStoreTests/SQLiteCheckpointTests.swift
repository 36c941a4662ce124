import Foundation
import SQLKit
import Testing
@testable import ClearanceStore

/// The writer runs with `wal_autocheckpoint = 0`; `SQLiteCheckpointer` is
/// what copies the WAL back into the database file.
@Suite("SQLite checkpoints beside the writer")
struct SQLiteCheckpointTests {
    @Test func committedPagesReachTheDatabaseFile() async throws {
        try await withTemporarySQLiteDatabase { database, path in
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
        }
    }
}

extension SQLiteCheckpointTests {
    /// Batches that never stop used to keep every checkpoint one step behind,
    /// so the WAL never started over: it grew by 1 GB in a ten-second
    /// benchmark. With the writer catching up between batches it is reused.
    @Test func theWALStartsOverUnderAnEndlessStreamOfBatches() async throws {
        try await withTemporarySQLiteFile { path in
            let database = try await SQLiteDatabase.open(path: path, logger: .init(label: "test"), checkpointInterval: .milliseconds(10), walRestartFrames: 256)
            try await database.transaction { sql in
                try await sql.raw("CREATE TABLE things (id INTEGER PRIMARY KEY, body BLOB)").run()
            }
            // 8 writers, each always with a transaction queued: the writer is
            // never idle, as under load. 2,400 rows of two pages each: 14 MB.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<300 {
                            try await database.transaction { sql in
                                try await sql.raw("INSERT INTO things (body) VALUES (\(bind: Data(count: 6000)))").run()
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let walBytes = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
            // Started over, the WAL stays near a few restart thresholds (256
            // frames of 4 KiB: 1 MiB; measured up to 7.3 MB on a machine
            // loaded by a PostgreSQL test run, which delays the passes);
            // never started over, it holds every row written and more (24 MB).
            #expect(walBytes < 14_400_000, "WAL \(walBytes) bytes after 14.4 MB written")
            await database.close()
        }
    }
}
