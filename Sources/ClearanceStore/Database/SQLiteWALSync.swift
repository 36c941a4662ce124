import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Makes committed batches durable off the writer, so the next batch runs
/// while the last one's fsync is in flight.
///
/// Why: with `synchronous = FULL` every COMMIT waits for the WAL's fsync,
/// and the single writer idles for it: measured, a batch of 18 status
/// changes spent 2.1 ms working and 3–4 ms in COMMIT. The writer now runs
/// `synchronous = NORMAL` (COMMIT appends to the WAL without syncing) and
/// hands each batch here; one fsync of the WAL file covers every batch
/// committed before it started. Nobody learns of a batch before it is
/// durable: its callers are answered, its commit channels announced, and
/// this process's readers let in (`waitDurable`) only after the fsync. A
/// crash of the process loses nothing either way (the WAL is in the page
/// cache); this orders things for a power cut.
final class SQLiteWALSync: Sendable {
    typealias Completion = @Sendable ((any Error)?) -> Void

    private struct State {
        var committed: UInt64 = 0
        var synced: UInt64 = 0
        var running = false
        var waiting: [(upTo: UInt64, done: Completion)] = []
        var file: (descriptor: Int32, inode: UInt64)?
    }

    private let walPath: String
    private let state = NIOLockedValueBox(State())
    private let queue = DispatchQueue(label: "clearance.sqlite.wal-sync")
    /// Replaces the fsync in tests, which hold it to see who waits for it.
    private let syncOverride: (@Sendable () -> (any Error)?)?

    init(databasePath: String, sync: (@Sendable () -> (any Error)?)? = nil) {
        walPath = databasePath + "-wal"
        syncOverride = sync
    }

    deinit {
        if let file = state.withLockedValue({ $0.file }) { close(file.descriptor) }
    }

    /// Called by the writer right after a batch's COMMIT: `done` runs once
    /// that batch is on disk (or with the fsync's error).
    func committed(_ done: @escaping Completion) {
        let start = state.withLockedValue { state -> Bool in
            state.committed += 1
            state.waiting.append((state.committed, done))
            if state.running { return false }
            state.running = true
            return true
        }
        if start { queue.async { self.syncLoop() } }
    }

    /// Returns once everything committed so far is durable.
    func waitDurable() async {
        let pending = state.withLockedValue { $0.synced < $0.committed }
        guard pending else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { state -> Bool in
                if state.synced >= state.committed { return true }
                state.waiting.append((state.committed, { _ in continuation.resume() }))
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func syncLoop() {
        while true {
            let target = state.withLockedValue { $0.committed }
            let error = sync()
            let ready = state.withLockedValue { state -> [Completion] in
                state.synced = target
                let ready = state.waiting.filter { $0.upTo <= target }.map(\.done)
                state.waiting.removeAll { $0.upTo <= target }
                return ready
            }
            for done in ready { done(error) }
            let more = state.withLockedValue { state -> Bool in
                if state.committed > state.synced { return true }
                state.running = false
                return false
            }
            if !more { return }
        }
    }

    /// fdatasync of the WAL file, reopened whenever the path names another file.
    private func sync() -> (any Error)? {
        if let syncOverride { return syncOverride() }
        var pathStat = stat()
        guard stat(walPath, &pathStat) == 0 else { return SyncError(operation: "stat", code: errno) }
        let descriptor = state.withLockedValue { state -> Int32? in
            guard let file = state.file, file.inode == UInt64(pathStat.st_ino) else { return nil }
            return file.descriptor
        } ?? reopen(inode: UInt64(pathStat.st_ino))
        guard let descriptor else { return SyncError(operation: "open", code: errno) }
        // fdatasync, as SQLite itself uses: the WAL is reused in place
        // (`SQLiteCheckpointer`), so its size rarely changes and the inode's
        // times need not reach the disk for the frames to be recoverable.
        return fdatasync(descriptor) == 0 ? nil : SyncError(operation: "fdatasync", code: errno)
    }

    private func reopen(inode: UInt64) -> Int32? {
        let descriptor = open(walPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        let previous = state.withLockedValue { state -> Int32? in
            defer { state.file = (descriptor, inode) }
            return state.file?.descriptor
        }
        if let previous { close(previous) }
        return descriptor
    }

    struct SyncError: Error, CustomStringConvertible {
        var operation: String
        var code: Int32
        var description: String { "\(operation) of the SQLite WAL failed: \(String(cString: strerror(code)))" }
    }
}
