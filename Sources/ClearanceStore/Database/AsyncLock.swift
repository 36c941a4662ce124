import NIOConcurrencyHelpers

/// A first-come first-served async mutex: waiting callers suspend instead of
/// blocking a thread. Used to give SQLite's single writer connection to one
/// transaction at a time.
final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    func withLock<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLockedValue { state -> Bool in
                if state.locked {
                    state.waiters.append(continuation)
                    return false
                }
                state.locked = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

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
