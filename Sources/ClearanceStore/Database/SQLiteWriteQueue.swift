import Logging
import NIOConcurrencyHelpers
import SQLKit

/// Group commit for SQLite's single writer. Transactions queue up; one
/// drain task runs whatever is queued inside one `BEGIN IMMEDIATE … COMMIT`,
/// each in its own savepoint, so a failing one rolls back alone and the
/// others share one fsync. Every caller is answered only after the COMMIT
/// that holds its work succeeded and the WAL holding it is on disk
/// (`durability`, `SQLiteWALSync`), so an acknowledged change is durable
/// exactly as with one synced transaction each; the writer runs the next
/// batch while the last one's fsync is in flight.
final class SQLiteWriteQueue: Sendable {
    /// Runs one transaction's work on the writer; answers how to finish its
    /// caller once the batch's COMMIT is known.
    typealias Job = @Sendable (any SQLDatabase) async -> Finisher
    /// Called with nil when the batch committed, or with the COMMIT's error.
    typealias Finisher = @Sendable ((any Error)?) -> Void
    /// Fails a job that never ran (its batch could not begin).
    typealias Failer = @Sendable (any Error) -> Void

    private struct State {
        var queue: [(job: Job, fail: Failer)] = []
        var draining = false
        /// Channels the running batch announced; notified after its COMMIT.
        var announced: Set<CommitChannel> = []
    }

    static let maxBatch = 128
    static let priority = TaskPriority.high
    private let state = NIOLockedValueBox(State())
    private let database: any SQLDatabase
    private let logger: Logger
    /// Runs its argument once the batch just committed is durable (at once
    /// when COMMIT itself syncs).
    typealias Durability = @Sendable (@escaping @Sendable ((any Error)?) -> Void) -> Void
    private let durability: Durability
    /// Runs on the writer between batches, with no transaction open.
    typealias Maintenance = @Sendable () -> Void
    private let maintenance: Maintenance
    /// The running batch's accumulated values (touched by the drain only).
    private let accumulator = BatchAccumulator()
    let signals = CommitSignals()

    init(
        database: any SQLDatabase, logger: Logger, durability: @escaping Durability = { $0(nil) },
        maintenance: @escaping Maintenance = {}
    ) {
        self.database = database
        self.logger = logger
        self.durability = durability
        self.maintenance = maintenance
    }

    /// Called from a job of the running batch (the only code on the writer):
    /// the batch's COMMIT wakes `channel`'s workers. A job that rolls back
    /// after announcing causes one needless wake-up, nothing worse.
    func announce(_ channel: CommitChannel) {
        state.withLockedValue { _ = $0.announced.insert(channel) }
    }

    func submit(_ job: @escaping Job, fail: @escaping Failer) {
        let start = state.withLockedValue { state -> Bool in
            state.queue.append((job, fail))
            if state.draining { return false }
            state.draining = true
            return true
        }
        // Detached: the batch must finish even if the submitting task is
        // cancelled. High priority: the drain is the one serial step every
        // write waits for, and at the default priority it queued behind the
        // request handlers on the same two threads (status changes a second:
        // median +9 % side by side, +5.5 % in turns; `docs/reliability.md`).
        if start { Task.detached(priority: Self.priority) { await self.drain() } }
    }

    private func drain() async {
        while true {
            let batch = state.withLockedValue { state -> [(job: Job, fail: Failer)] in
                let batch = Array(state.queue.prefix(Self.maxBatch))
                state.queue.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            await run(batch)
        }
    }

    private func run(_ batch: [(job: Job, fail: Failer)]) async {
        do {
            // IMMEDIATE takes the write lock now, so another process (a CLI
            // command beside `serve`) waits on busy_timeout instead of failing
            // at commit.
            try await database.run(FixedQuery("BEGIN IMMEDIATE"))
        } catch {
            for entry in batch { entry.fail(error) }
            return
        }
        var finishers: [Finisher] = []
        for entry in batch { finishers.append(await entry.job(database)) }
        do {
            try await accumulator.flush(on: database)
            try await database.run(FixedQuery("COMMIT"))
            let announced = state.withLockedValue { state in
                defer { state.announced = [] }
                return state.announced
            }
            // Callers and workers hear of the batch only once it is on disk.
            durability { [signals, logger, finishers] error in
                if let error { logger.critical("the committed batch could not be made durable", metadata: ["error": "\(error)"]) }
                for finish in finishers { finish(error) }
                if error == nil { signals.notify(announced) }
            }
            maintenance()
        } catch {
            logger.error("group commit failed", metadata: ["error": "\(String(reflecting: error))"])
            try? await database.run(FixedQuery("ROLLBACK"))
            accumulator.reset()
            state.withLockedValue { $0.announced = [] }
            for finish in finishers { finish(error) }
        }
    }

    /// Runs `body` as one transaction of a batch.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                submit({ [accumulator] sql in
                    do {
                        try await sql.run(FixedQuery("SAVEPOINT clearance_txn"))
                    } catch {
                        return { _ in continuation.resume(throwing: error) }
                    }
                    do {
                        let value = try await TransactionScope.run(on: sql, batch: accumulator, body)
                        try await sql.run(FixedQuery("RELEASE clearance_txn"))
                        accumulator.keepStaged()
                        return { commitError in
                            if let commitError { continuation.resume(throwing: commitError) } else { continuation.resume(returning: value) }
                        }
                    } catch {
                        accumulator.dropStaged()
                        try? await sql.run(FixedQuery("ROLLBACK TO clearance_txn"))
                        try? await sql.run(FixedQuery("RELEASE clearance_txn"))
                        return { _ in continuation.resume(throwing: error) }
                    }
            }, fail: { error in continuation.resume(throwing: error) })
        }
    }
}
