import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Copies the WAL back into the database file beside the writer, not in it.
///
/// Why: with SQLite's automatic checkpoint, the COMMIT that crosses 1,000
/// WAL pages runs the checkpoint itself (page copies and an fsync of the
/// database file) while every queued transaction waits; profiling the
/// status-change benchmark showed 6 % of the server's time there. The writer
/// now runs with `wal_autocheckpoint = 0` and pokes this after each COMMIT;
/// a PASSIVE checkpoint on its own connection, on NIO's blocking-I/O pool,
/// runs at most every `interval`. PASSIVE never waits for readers or the
/// writer, so it cannot stall a request; what it could not copy it copies
/// next time. The WAL stays durable throughout: this only bounds its size.
final class SQLiteCheckpointer: Sendable {
    private struct State {
        var running = false
        var pending = false
        var lastRun = NIODeadline.distantPast
    }

    private let connection: DirectSQLiteConnection
    private let state = NIOLockedValueBox(State())
    private let interval: TimeAmount

    init(path: String, interval: TimeAmount = .milliseconds(200)) throws {
        connection = try DirectSQLiteConnection(path: path)
        try connection.execute("PRAGMA busy_timeout = 10000", binds: [], onRow: { _ in })
        self.interval = interval
    }

    /// After a COMMIT: schedules a checkpoint unless one is due already.
    func poke() {
        let start = state.withLockedValue { state -> Bool in
            state.pending = true
            if state.running { return false }
            state.running = true
            return true
        }
        if start { schedule() }
    }

    private func schedule() {
        let wait = state.withLockedValue { $0.lastRun + interval - NIODeadline.now() }
        let run = { NIOThreadPool.singleton.submit { _ in self.drain() } }
        if wait > .zero {
            _ = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: wait) { run() }
        } else {
            run()
        }
    }

    /// On the blocking pool: one checkpoint, then another later if commits
    /// arrived meanwhile.
    private func drain() {
        state.withLockedValue {
            $0.pending = false
            $0.lastRun = NIODeadline.now()
        }
        // Best effort: a failed checkpoint leaves the WAL longer, nothing worse.
        try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)", binds: [], onRow: { _ in })
        let again = state.withLockedValue { state -> Bool in
            if state.pending { return true }
            state.running = false
            return false
        }
        if again { schedule() }
    }
}
