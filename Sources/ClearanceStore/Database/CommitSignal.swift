import NIOConcurrencyHelpers

/// Work that a background worker picks up from the database: a transaction
/// that queues such work announces its channel, and the worker is woken when
/// that transaction commits — in this process at once, in the other
/// processes on one PostgreSQL through `LISTEN/NOTIFY`. Polling stays only
/// as the fallback (a lost notification, a retry coming due).
public enum CommitChannel: String, Sendable, CaseIterable {
    case webhooks = "clearance_webhooks"
    case emails = "clearance_emails"
}

/// A level-triggered wake-up: a `notify` with nobody waiting is kept, so the
/// next `wait` returns at once and no commit is missed between two waits.
public final class CommitSignal: Sendable {
    private struct State {
        var pending = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waits that ended (timeout, cancellation) before they registered.
        var finished: Set<Int> = []
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func notify() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            if state.waiters.isEmpty {
                state.pending = true
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns at the next `notify` (at once if one came since the last
    /// wait), after `timeout`, or when the task is cancelled.
    public func wait(upTo timeout: Duration) async {
        let id: Int? = state.withLockedValue { state in
            if state.pending {
                state.pending = false
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLockedValue { state -> Bool in
                        if state.finished.remove(id) != nil { return true }
                        if state.pending {
                            state.pending = false
                            return true
                        }
                        state.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // Whichever child is still waiting ends now.
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.finished.insert(id)
                return nil
            }
            waiter?.resume()
            await group.waitForAll()
            state.withLockedValue { _ = $0.finished.remove(id) }
        }
    }
}

/// One signal per channel, made on first use.
final class CommitSignals: Sendable {
    private let signals: [CommitChannel: CommitSignal] = Dictionary(
        uniqueKeysWithValues: CommitChannel.allCases.map { ($0, CommitSignal()) })

    func signal(_ channel: CommitChannel) -> CommitSignal { signals[channel]! }

    func notify(_ channels: some Sequence<CommitChannel>) {
        for channel in channels { signal(channel).notify() }
    }
}
