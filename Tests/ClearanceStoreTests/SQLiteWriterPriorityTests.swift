import Testing
@testable import ClearanceStore

/// Every write waits for the one writer, so it must not queue behind the
/// request handlers that share its threads.
@Suite("SQLite writer priority")
struct SQLiteWriterPriorityTests {
    @Test func transactionsRunAtTheWritersPriorityWhoeverAsks() async throws {
        try await withTemporarySQLiteFile { path in
            let database = try await SQLiteDatabase.open(path: path, logger: .init(label: "test"))
            let seen = try await Task(priority: .low) {
                try await database.transaction { _ in Task.currentPriority }
            }.value
            await database.close()
            #expect(seen == SQLiteWriteQueue.priority)
            #expect(SQLiteWriteQueue.priority > .medium)
        }
    }
}
