import NIOConcurrencyHelpers
import SQLKit

/// Values several transactions of one group-committed batch add to, written
/// once at the batch's COMMIT: the live session counts, and the audit
/// chain's head (each transaction reads the one its predecessor left).
///
/// Why: every status change moved two `session_counts` rows, two UPDATEs
/// (and, each in its own savepoint, a fresh copy of the page for the
/// sub-journal) per change. A batch of twenty changes between Approved and
/// Declined nets to two small deltas or none. A transaction's value is
/// staged when its work ends and merged only when its savepoint is
/// released; one that rolls back is dropped (`SQLiteWriteQueue`).
final class BatchAccumulator: Sendable {
    private struct Entry: @unchecked Sendable {
        var value: any Sendable
        let merge: (any Sendable, any Sendable) -> any Sendable
        let flush: @Sendable (any Sendable, any SQLDatabase) async throws -> Void
    }

    private struct State {
        /// In the order their keys first came (a handful of keys).
        var merged: [(key: String, entry: Entry)] = []
        var staged: [(key: String, entry: Entry)] = []
    }

    private let state = NIOLockedValueBox(State())

    /// A transaction's final value under `key`, held until it is released.
    func stage<Value: Sendable>(
        _ key: String, _ value: Value, merge: @escaping @Sendable (inout Value, Value) -> Void,
        flush: @escaping @Sendable (Value, any SQLDatabase) async throws -> Void
    ) {
        let entry = Entry(
            value: value,
            merge: { total, next in
                var total = total as! Value
                merge(&total, next as! Value)
                return total
            },
            flush: { value, sql in try await flush(value as! Value, sql) })
        state.withLockedValue { $0.staged.append((key, entry)) }
    }

    /// The value under `key` as the running transaction sees it: the last it
    /// staged, else the batch's merged value; nil when neither has one.
    func current<Value: Sendable>(_ key: String, as type: Value.Type) -> Value? {
        state.withLockedValue { state in
            let entries = (state.merged + state.staged).filter { $0.key == key }.map(\.entry)
            guard let first = entries.first else { return nil }
            return entries.dropFirst().reduce(first.value) { first.merge($0, $1.value) } as? Value
        }
    }

    /// The transaction whose values are staged committed its savepoint.
    func keepStaged() {
        state.withLockedValue { state in
            for (key, entry) in state.staged {
                if let index = state.merged.firstIndex(where: { $0.key == key }) {
                    let existing = state.merged[index].entry
                    state.merged[index].entry.value = existing.merge(existing.value, entry.value)
                } else {
                    state.merged.append((key, entry))
                }
            }
            state.staged = []
        }
    }

    /// The transaction whose values are staged rolled back.
    func dropStaged() {
        state.withLockedValue { $0.staged = [] }
    }

    /// Writes the batch's values, in the order their keys first came; then
    /// starts empty for the next batch.
    func flush(on sql: any SQLDatabase) async throws {
        let entries = state.withLockedValue { state in
            defer { state = State() }
            return state.merged.map(\.entry)
        }
        for entry in entries { try await entry.flush(entry.value, sql) }
    }

    /// Forgets everything (the batch rolled back).
    func reset() {
        state.withLockedValue { $0 = State() }
    }
}
