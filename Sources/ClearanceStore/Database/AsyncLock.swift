import NIOConcurrencyHelpers

/// A fixed set of resources handed out one caller at a time each.
final class AsyncPool<Resource: Sendable>: Sendable {
    private struct State {
        var idle: [Resource]
        var waiters: [CheckedContinuation<Resource, Never>] = []
    }

    private let state: NIOLockedValueBox<State>
    let all: [Resource]

    init(_ resources: [Resource]) {
        precondition(!resources.isEmpty)
        self.all = resources
        self.state = NIOLockedValueBox(State(idle: resources))
    }

    func withResource<T: Sendable>(_ body: (Resource) async throws -> T) async rethrows -> T {
        let resource = await checkout()
        defer { checkin(resource) }
        return try await body(resource)
    }

    private func checkout() async -> Resource {
        await withCheckedContinuation { (continuation: CheckedContinuation<Resource, Never>) in
            let resource = state.withLockedValue { state -> Resource? in
                if let resource = state.idle.popLast() { return resource }
                state.waiters.append(continuation)
                return nil
            }
            if let resource { continuation.resume(returning: resource) }
        }
    }

    private func checkin(_ resource: Resource) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Resource, Never>? in
            if state.waiters.isEmpty {
                state.idle.append(resource)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume(returning: resource)
    }
}
