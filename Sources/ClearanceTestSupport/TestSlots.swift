import Foundation

/// Caps how many test databases are open at once. Swift Testing starts every
/// test of a run together; with 273 of them interleaved on two cores, one
/// request could wait for the CPU longer than the test client's 15 s deadline
/// (CI stop 14, PostgreSQL pass: `HTTPClientError.deadlineExceeded` in a test
/// that takes 0.9 s alone). With a cap, a test's time is mostly its own.
/// `CLEARANCE_TEST_SLOTS` sets the cap (default 8; 0 means none).
actor TestSlots {
    static let shared = TestSlots(
        limit: ProcessInfo.processInfo.environment["CLEARANCE_TEST_SLOTS"].flatMap { Int($0) } ?? 8)

    /// Set while a task holds a slot, so a test that opens a second store
    /// inside its first does not wait for a slot it already has.
    @TaskLocal static var holding = false

    private var free: Int
    private let unlimited: Bool
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        free = max(limit, 0)
        unlimited = limit <= 0
    }

    /// Runs `body` in a slot, waiting for one if all are taken.
    static func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if holding { return try await body() }
        await shared.acquire()
        do {
            let result = try await $holding.withValue(true) { try await body() }
            await shared.release()
            return result
        } catch {
            await shared.release()
            throw error
        }
    }

    func acquire() async {
        if unlimited { return }
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if unlimited { return }
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
