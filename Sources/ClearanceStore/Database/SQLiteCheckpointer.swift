import Foundation
import NIOConcurrencyHelpers

/// Copies the WAL back into the database file beside the writer, not in it,
/// and keeps the WAL from growing without bound.
///
/// Why beside: with SQLite's automatic checkpoint, the COMMIT that crosses
/// 1,000 WAL pages runs the checkpoint itself (page copies and an fsync of
/// the database file) while every queued transaction waits; profiling the
/// status-change benchmark showed 6 % of the server's time there. The writer
/// runs with `wal_autocheckpoint = 0` and pokes this after each COMMIT; a
/// PASSIVE checkpoint on its own connection and its own queue (not the
/// blocking pool SQLiteNIO's readers use) runs at most every `interval`.
/// PASSIVE never waits for readers or the writer, so it cannot stall a
/// request; what it could not copy it copies next time.
///
/// Why the restart: SQLite writes the WAL from its start again only when a
/// write transaction begins with every frame already copied back. Under a
/// steady stream of batches that never happens, since each batch lands
/// while the checkpoint copies the last ones: the WAL grew by 100 MB/s in
/// the status-change benchmark (1 GB in ten seconds), and 15 % of the
/// server's CPU went to the kernel zeroing the new file blocks. So once a
/// pass finds the WAL past `restartFrames`, the writer copies the few
/// frames committed since, between two batches, on its own connection
/// (`catchUpIfDue`); the next batch then starts the WAL over
/// (unless a reader still holds an old snapshot; then a later pass asks
/// again).
final class SQLiteCheckpointer: Sendable {
    private struct State {
        var scheduled = false
        var lastRun = DispatchTime(uptimeNanoseconds: 0)
        /// Attempts left for the writer to catch up (0: none due).
        var restartDue = 0
    }

    private let connection: DirectSQLiteConnection
    private let state = NIOLockedValueBox(State())
    private let queue = DispatchQueue(label: "clearance.sqlite.checkpoint")
    private let interval: DispatchTimeInterval
    let restartFrames: Int64

    init(path: String, interval: DispatchTimeInterval = .milliseconds(200), restartFrames: Int64 = 16384) throws {
        connection = try DirectSQLiteConnection(path: path)
        try connection.execute("PRAGMA busy_timeout = 10000", binds: [], onRow: { _ in })
        self.interval = interval
        self.restartFrames = restartFrames
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

    /// Called by the writer between batches, with no transaction open:
    /// after a pass found the WAL long, copies what that pass left (few
    /// frames) on the writer's connection, so the next BEGIN finds the WAL
    /// fully copied back and starts it over. Until that works (the pass
    /// itself may hold the checkpoint lock) it is tried again after the
    /// next batches, a few times, then left to the next pass.
    func catchUpIfDue(on writer: DirectSQLiteConnection) {
        guard state.withLockedValue({ $0.restartDue > 0 }) else { return }
        let done = Self.passive(on: writer)?.copiedAll ?? false
        state.withLockedValue { $0.restartDue = done ? 0 : $0.restartDue - 1 }
    }

    private func checkpoint() {
        state.withLockedValue {
            $0.scheduled = false
            $0.lastRun = .now()
        }
        // Best effort: a failed checkpoint leaves the WAL longer, nothing worse.
        guard (Self.passive(on: connection)?.frames ?? 0) >= restartFrames else { return }
        // Once more, for what came during that pass: the writer's part, which
        // it does while no batch runs, is then only the last few frames
        // (measured: 8 ms per catch-up after a single pass at 7,500 status
        // changes/s, most of it copying).
        _ = Self.passive(on: connection)
        state.withLockedValue { $0.restartDue = 8 }
    }

    /// One PASSIVE checkpoint on `connection`: the WAL's length in frames,
    /// and whether every frame is now copied back. Nil when it failed.
    private static func passive(on connection: DirectSQLiteConnection) -> (frames: Int64, copiedAll: Bool)? {
        var result: (frames: Int64, copiedAll: Bool)?
        try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)", binds: [], onRow: { row in
            guard let busy = try? row.decode(column: "busy", as: Int64.self),
                let frames = try? row.decode(column: "log", as: Int64.self),
                let copied = try? row.decode(column: "checkpointed", as: Int64.self)
            else { return }
            result = (frames, busy == 0 && frames == copied)
        })
        return result
    }
}
