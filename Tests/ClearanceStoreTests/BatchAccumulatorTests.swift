import Foundation
import SQLKit
import Testing
@testable import ClearanceStore

/// Values accumulated with `merge` are written once per group-committed
/// batch (`BatchAccumulator`): what a rolled-back transaction added must not
/// be written, what a released one added must be, whatever the batching.
@Suite("SQLite batch accumulation")
struct BatchAccumulatorTests {
    struct Refused: Error {}

    @Test func rolledBackTransactionsAddNothingAndReleasedOnesAddTheirShare() async throws {
        try await withTemporarySQLiteDatabase { database, _ in
            try await database.transaction { sql in
                try await sql.raw("CREATE TABLE counters (name TEXT PRIMARY KEY, total INTEGER NOT NULL)").run()
                try await sql.raw("CREATE TABLE flushes (total INTEGER NOT NULL)").run()
                try await sql.raw("INSERT INTO counters VALUES ('c', 0)").run()
            }
            // 200 transactions queued at once, so they share batches; each adds
            // its number, every third then fails at its end, after writing a row of its own.
            let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for number in 1...200 {
                    group.addTask {
                        do {
                            try await database.transaction { sql in
                                try await sql.raw("INSERT INTO flushes VALUES (\(bind: -number))").run()
                                TransactionScope.current!.accumulate(
                                    "counter", initial: 0, change: { $0 += number }, merge: { $0 += $1 },
                                    flush: { total, sql in
                                        try await sql.raw("UPDATE counters SET total = total + \(bind: total)").run()
                                        try await sql.raw("INSERT INTO flushes VALUES (\(bind: total))").run()
                                    })
                                // Refused at the very end, after its value was staged.
                                if number % 3 == 0 { TransactionScope.current!.beforeCommit { _ in throw Refused() } }
                            }
                            return (number, true)
                        } catch is Refused {
                            return (number, false)
                        }
                    }
                }
                return try await group.reduce(into: [(Int, Bool)]()) { $0.append($1) }
            }
            let committed = outcomes.filter(\.1).map(\.0)
            #expect(committed.count == 134)
            let (total, flushed, marks) = try await database.read { sql in
                (
                    try await sql.raw("SELECT total FROM counters").first()!.decode(column: "total", as: Int.self),
                    try await sql.raw("SELECT COALESCE(SUM(total), 0) AS s FROM flushes WHERE total > 0").first()!.decode(column: "s", as: Int.self),
                    try await sql.raw("SELECT COUNT(*) AS n FROM flushes WHERE total < 0").first()!.decode(column: "n", as: Int.self)
                )
            }
            #expect(total == committed.reduce(0, +), "the counter holds exactly the committed transactions' share")
            #expect(flushed == total)
            #expect(marks == committed.count, "the refused transactions' own rows rolled back")
        }
    }
}
