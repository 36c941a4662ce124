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
    /// Sessions (and KYC action requests) per transaction.
    let batchSize: Int
    let logger: Logger

    public init(
        store: Store, clock: ServerClock = .system, interval: Duration = .seconds(30), batchSize: Int = 200, logger: Logger
    ) {
        self.store = store
        self.clock = clock
        self.interval = interval
        self.batchSize = batchSize
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
                let batch = try await SessionService(store: store).sweepBatch(now: clock.now(), limit: batchSize)
                total += batch.moved
                if batch.moved + batch.waived == 0 || Task.isCancelled { break }
            }
            if total > 0 { logger.info("sweep moved sessions", metadata: ["count": "\(total)"]) }
            var expired = 0
            while true {
                let done = try await KYCService(store: store).expireDueActionRequests(now: clock.now(), limit: batchSize)
                expired += done
                // A short batch was the last one.
                if done < batchSize || Task.isCancelled { break }
            }
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
