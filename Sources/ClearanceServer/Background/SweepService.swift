import Foundation
import Logging
import ServiceLifecycle
import ClearanceStore

/// Applies the moves that time causes (`Expired`, `Abandoned`, `Kyc
/// Expired`, KYC action requests past `dueAt`) and purges expired idempotency records, every `interval`.
/// Safe with several processes on one PostgreSQL: candidates are claimed
/// with `FOR UPDATE SKIP LOCKED` and re-read under their lock.
public struct SweepService: Service {
    let store: Store
    let clock: ServerClock
    let interval: Duration
    let logger: Logger

    public init(store: Store, clock: ServerClock = .system, interval: Duration = .seconds(30), logger: Logger) {
        self.store = store
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            await sweepOnce()
            // Wake at once on shutdown instead of finishing the nap.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass: sessions in batches until none is due, then idempotency.
    public func sweepOnce() async {
        do {
            var total = 0
            while true {
                let moved = try await SessionService(store: store).sweep(now: clock.now())
                total += moved
                if moved == 0 || Task.isCancelled { break }
            }
            if total > 0 { logger.info("sweep moved sessions", metadata: ["count": "\(total)"]) }
            let expired = try await KYCService(store: store).expireDueActionRequests(now: clock.now())
            if expired > 0 { logger.info("sweep expired KYC action requests", metadata: ["count": "\(expired)"]) }
            try await store.idempotency.purgeExpired(now: clock.now())
        } catch is CancellationError {
            return
        } catch {
            logger.error("sweep failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool {
        Task.isCancelled || Task.isShuttingDownGracefully
    }
}
