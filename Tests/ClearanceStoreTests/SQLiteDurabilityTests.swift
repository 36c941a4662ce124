import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Testing
@testable import ClearanceStore

/// SQLite's COMMIT does not sync (`synchronous = NORMAL`); `SQLiteWALSync`
/// fsyncs the WAL beside the writer. These hold that fsync back and check
/// that nobody hears of a commit before it: not its caller, not a reader,
/// not a worker waiting on a commit channel.
@Suite("SQLite durability: nobody hears of a commit before its fsync")
struct SQLiteDurabilityTests {
    /// An fsync stand-in: passes at once until armed, then blocks until
    /// opened, counting the calls it blocked.
    final class HeldSync: Sendable {
        private let state = NIOLockedValueBox((armed: false, calls: 0, failure: (any Error)?.none))
        private let gate = DispatchSemaphore(value: 0)

        func sync() -> (any Error)? {
            guard state.withLockedValue({ state in
                if state.armed { state.calls += 1 }
                return state.armed
            }) else { return nil }
            gate.wait()
            gate.signal()  // once open, stays open
            return state.withLockedValue { $0.failure }
        }

        func arm() { state.withLockedValue { $0.armed = true } }

        func open(failing failure: (any Error)? = nil) {
            state.withLockedValue { $0.failure = failure }
            gate.signal()
        }

        var calls: Int { state.withLockedValue { $0.calls } }
    }

    struct DiskFull: Error {}

    /// A database with one table, `things`, whose fsyncs `held` controls.
    func withDatabase(_ held: HeldSync, _ body: (SQLiteDatabase) async throws -> Void) async throws {
        try await withTemporarySQLiteFile { path in
            let database = try await SQLiteDatabase.open(path: path, logger: .init(label: "test"), syncWAL: { held.sync() })
            do {
                try await database.transaction { sql in try await sql.raw("CREATE TABLE things (n INTEGER)").run() }
                held.arm()
                try await body(database)
            } catch {
                held.open()
                await database.close()
                throw error
            }
            await database.close()
        }
    }

    func count(_ database: SQLiteDatabase) async throws -> Int {
        try await database.read { sql in
            try await sql.raw("SELECT COUNT(*) AS n FROM things").first()!.decode(column: "n", as: Int.self)
        }
    }

    /// Polls until `condition` holds or two seconds pass.
    func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        return condition()
    }

    @Test func theCallerTheReaderAndTheWorkerWaitForTheFsync() async throws {
        let held = HeldSync()
        try await withDatabase(held) { database in
            let signal = database.signal(.webhooks)
            let woken = NIOLockedValueBox(false)
            let worker = Task {
                await signal.wait(upTo: .seconds(30))
                woken.withLockedValue { $0 = true }
            }
            let answered = NIOLockedValueBox(false)
            let writer = Task {
                try await database.transaction { sql in
                    try await sql.raw("INSERT INTO things (n) VALUES (1)").run()
                    try await database.announceOnCommit(.webhooks, on: sql)
                }
                answered.withLockedValue { $0 = true }
            }
            #expect(try await eventually { held.calls > 0 }, "the commit reached the fsync")
            let read = NIOLockedValueBox(Int?.none)
            let reader = Task {
                let seen = try await count(database)
                read.withLockedValue { $0 = seen }
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(!answered.withLockedValue { $0 }, "the caller is not answered before the fsync")
            #expect(read.withLockedValue { $0 } == nil, "a reader does not see the commit before the fsync")
            #expect(!woken.withLockedValue { $0 }, "no worker is woken before the fsync")

            held.open()
            try await writer.value
            try await reader.value
            #expect(read.withLockedValue { $0 } == 1)
            #expect(try await eventually { woken.withLockedValue { $0 } }, "the worker is woken after it")
            worker.cancel()
        }
    }

    @Test func aFailedFsyncFailsTheBatchsCallers() async throws {
        let held = HeldSync()
        try await withDatabase(held) { database in
            held.open(failing: DiskFull())
            await #expect(throws: DiskFull.self) {
                try await database.transaction { sql in try await sql.raw("INSERT INTO things (n) VALUES (1)").run() }
            }
        }
    }

    @Test func oneFsyncCoversEveryBatchCommittedBeforeIt() async throws {
        let held = HeldSync()
        try await withDatabase(held) { database in
            // The first batch's fsync is held; the writer goes on committing
            // the next batches meanwhile (the point of it), their callers wait.
            let writes = (1...20).map { n in
                Task {
                    try await database.transaction { sql in
                        try await sql.raw("INSERT INTO things (n) VALUES (\(bind: n))").run()
                    }
                }
            }
            // The first fsync is held (a second may start beside it: `overlap`).
            #expect(try await eventually { held.calls >= 1 })
            try await Task.sleep(for: .milliseconds(100))
            held.open()
            for write in writes { try await write.value }
            #expect(try await count(database) == 20)
            // Two fsyncs may run at once (`SQLiteWALSync.overlap`): the held
            // one, one beside it, and one after for what came meanwhile.
            #expect(held.calls <= 3, "batches committed while the fsyncs ran share the next: \(held.calls) fsyncs for 20 writes")
        }
    }

    /// A batch committed while an fsync runs gets an fsync of its own at
    /// once, and when that returns, everything committed before it is on
    /// disk: the earlier batch's caller is answered too, though the first
    /// fsync has still not returned.
    @Test func aLaterFsyncAnswersEveryBatchBeforeItWhileAnEarlierOneHangs() async throws {
        let first = DispatchSemaphore(value: 0)
        let calls = NIOLockedValueBox(0)
        let armed = NIOLockedValueBox(false)
        try await withTemporarySQLiteFile { path in
            let database = try await SQLiteDatabase.open(
                path: path, logger: .init(label: "test"),
                syncWAL: {
                    guard armed.withLockedValue({ $0 }) else { return nil }
                    // Only the first armed fsync hangs.
                    if calls.withLockedValue({ $0 += 1; return $0 }) == 1 { first.wait() }
                    return nil
                })
            try await database.transaction { sql in try await sql.raw("CREATE TABLE things (n INTEGER)").run() }
            armed.withLockedValue { $0 = true }
            let answered = NIOLockedValueBox<Set<Int>>([])
            func insert(_ n: Int) -> Task<Void, any Error> {
                Task {
                    try await database.transaction { sql in try await sql.raw("INSERT INTO things (n) VALUES (\(bind: n))").run() }
                    answered.withLockedValue { _ = $0.insert(n) }
                }
            }
            let one = insert(1)
            #expect(try await eventually { calls.withLockedValue { $0 } == 1 }, "the first fsync hangs")
            let two = insert(2)
            #expect(try await eventually { answered.withLockedValue { $0 } == [1, 2] }, "both answered while the first fsync hangs")
            #expect(calls.withLockedValue { $0 } == 2)
            first.signal()
            try await one.value
            try await two.value
            await database.close()
        }
    }
}
