import Testing
@testable import ClearanceStore

/// Every write waits for the one writer, so it must not queue behind the
/// request handlers that share its threads.
@Suite("SQLite writer priority")
struct SQLiteWriterPriorityTests {
    @Test func transactionsRunAtTheWritersPriorityWhoeverAsks() async throws {
        try await withTemporarySQLiteDatabase { database, _ in
            let seen = try await Task(priority: .low) {
                try await database.transaction { _ in Task.currentPriority }
            }.value
            #expect(seen == SQLiteWriteQueue.priority)
            #expect(SQLiteWriteQueue.priority > .medium)
        }
    }
}
