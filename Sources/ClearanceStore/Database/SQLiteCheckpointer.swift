import Foundation
import NIOConcurrencyHelpers

/// Copies the WAL back into the database file beside the writer, not in it.
///
/// Why: with SQLite's automatic checkpoint, the COMMIT that crosses 1,000
/// WAL pages runs the checkpoint itself (page copies and an fsync of the
/// database file) while every queued transaction waits; profiling the
/// status-change benchmark showed 6 % of the server's time there. The writer
/// now runs with `wal_autocheckpoint = 0` and pokes this after each COMMIT;
/// a PASSIVE checkpoint on its own connection and its own queue (not the
/// blocking pool SQLiteNIO's readers use) runs at most every `interval`.
/// PASSIVE never waits for readers or the writer, so it cannot stall a
/// request; what it could not copy it copies next time. The WAL stays
/// durable throughout: this only bounds its size.
final class SQLiteCheckpointer: Sendable {
    private struct State {
        var scheduled = false
        var lastRun = DispatchTime(uptimeNanoseconds: 0)
    }

    private let connection: DirectSQLiteConnection
    private let state = NIOLockedValueBox(State())
    private let queue = DispatchQueue(label: "clearance.sqlite.checkpoint")
    private let interval: DispatchTimeInterval

    init(path: String, interval: DispatchTimeInterval = .milliseconds(200)) throws {
        connection = try DirectSQLiteConnection(path: path)
        try connection.execute("PRAGMA busy_timeout = 10000", binds: [], onRow: { _ in })
        self.interval = interval
    }

    /// After a COMMIT: schedules one checkpoint, `interval` after the last,
    /// unless one is scheduled already (it will cover this commit too).
    func poke() {
        let due = state.withLockedValue { state -> DispatchTime? in
            if state.scheduled { return nil }
            state.scheduled = true
            return max(.now(), state.lastRun + interval)
        }
        guard let due else { return }
        queue.asyncAfter(deadline: due) { self.checkpoint() }
    }

    private func checkpoint() {
        state.withLockedValue {
            $0.scheduled = false
            $0.lastRun = .now()
        }
        // Best effort: a failed checkpoint leaves the WAL longer, nothing worse.
        try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)", binds: [], onRow: { _ in })
    }
}
