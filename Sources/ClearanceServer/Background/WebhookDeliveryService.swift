import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import ClearanceDomain
import ClearanceStore

/// Sends queued webhook deliveries: claims due ones (a lease, so a crashed
/// worker's claims are retaken), signs each body with every header of
/// `webhooks.md`, posts it without following redirects, and settles it:
/// 2xx delivered; 410 disables the destination; 429/503 honour Retry-After;
/// anything else retries on 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h with
/// jitter, then fails.
public struct WebhookDeliveryService: Service {
    public static let schedule: [TimeInterval] = [5, 300, 1800, 7200, 18000, 36000, 36000]

    let store: Store
    let clock: ServerClock
    let targetGuard: WebhookTargetGuard
    let http: HTTPClient
    let logger: Logger
    /// Multiplies the retry schedule: 1 in production; tests compress it.
    let retryScale: Double
    /// The longest idle wait: a fallback for a lost notification. New
    /// deliveries wake the worker at commit (`CommitSignal`), and retries
    /// and lapsed leases at the time they come due.
    let pollInterval: Duration
    let requestTimeout: TimeAmount

    public init(
        store: Store, clock: ServerClock = .system, allowPrivateTargets: Bool, retryScale: Double = 1,
        pollInterval: Duration = .seconds(2), requestTimeout: TimeAmount = .seconds(15), http: HTTPClient, logger: Logger
    ) {
        self.store = store
        self.clock = clock
        self.targetGuard = WebhookTargetGuard(allowPrivate: allowPrivateTargets)
        self.retryScale = retryScale
        self.pollInterval = pollInterval
        self.requestTimeout = requestTimeout
        self.http = http
        self.logger = logger
    }

    /// A client that never follows redirects and gives up after 15 s.
    public static func makeHTTPClient() -> HTTPClient {
        HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(15))))
    }

    /// Deliveries in flight at once from this process.
    static let maxConcurrent = 64

    /// Claims as capacity frees up, so one slow receiver (up to the 15 s
    /// timeout) never holds back deliveries to the others.
    public func run() async throws {
        let inFlight = NIOLockedValueBox(0)
        let signal = store.database.signal(.webhooks)
        await withDiscardingTaskGroup { group in
            while !Task.isCancelledOrShuttingDown {
                let capacity = Self.maxConcurrent - inFlight.withLockedValue { $0 }
                var claimed: [ClaimedDelivery] = []
                if capacity > 0 {
                    do {
                        claimed = try await store.deliveries.claim(now: clock.now(), lease: 60, limit: capacity)
                    } catch {
                        logger.error("claiming webhook deliveries failed", metadata: ["error": "\(String(reflecting: error))"])
                    }
                }
                // Each destination read once per claimed batch, fresh for it.
                var destinations: [String: WebhookDestinationRecord] = [:]
                for id in Set(claimed.map(\.destinationID)) {
                    guard let delivery = claimed.first(where: { $0.destinationID == id }) else { continue }
                    destinations[id] = try? await store.webhookDestinations.find(id: id, environment: delivery.environment)
                }
                for delivery in claimed {
                    inFlight.withLockedValue { $0 += 1 }
                    let destination = destinations[delivery.destinationID]
                    group.addTask {
                        await self.deliver(delivery, to: destination)
                        let wasFull = inFlight.withLockedValue { count in
                            defer { count -= 1 }
                            return count == Self.maxConcurrent
                        }
                        // The loop waits for a free slot when all were taken.
                        if wasFull { signal.notify() }
                    }
                }
                if capacity <= 0 {
                    try? await cancelWhenGracefulShutdown { await signal.wait(upTo: pollInterval) }
                } else if claimed.isEmpty {
                    let wait = await idleWait()
                    try? await cancelWhenGracefulShutdown { await signal.wait(upTo: wait) }
                }
            }
        }
    }

    /// Until the next retry or lease comes due, at most `pollInterval`.
    func idleWait() async -> Duration {
        guard let due = try? await store.deliveries.nextDue() else { return pollInterval }
        let seconds = due.timeIntervalSince(clock.now())
        if seconds <= 0 { return .milliseconds(1) }
        return min(pollInterval, .milliseconds(Int64(seconds * 1000) + 1))
    }

    func deliver(_ delivery: ClaimedDelivery, to destination: WebhookDestinationRecord?) async {
        let started = ContinuousClock.now
        let outcome: DeliveryOutcome
        do {
            outcome = try await attempt(delivery, to: destination)
        } catch {
            outcome = retryOutcome(delivery, statusCode: nil, error: "internal: \(error)")
        }
        do {
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            // A transaction runs to its end even if shutdown cancels the
            // worker here (`Database.transaction`): what was sent stays recorded.
            try await store.deliveries.settle(delivery, outcome: outcome, now: clock.now(), duration: seconds)
        } catch {
            // The lease runs out and another pass retries: at least once.
            logger.error(
                "settling a webhook delivery failed", metadata: ["delivery": "\(delivery.id)", "error": "\(String(reflecting: error))"])
        }
    }

    func attempt(_ delivery: ClaimedDelivery, to destination: WebhookDestinationRecord?) async throws -> DeliveryOutcome {
        guard let destination, destination.enabled
        else { return .failed(statusCode: nil, error: "the destination was removed or disabled") }
        guard let event = delivery.event, !delivery.shredded
        else { return .failed(statusCode: nil, error: "the payload was erased with its session") }
        // Checked again at each delivery: DNS may have changed since.
        if let refusal = targetGuard.refusal(for: destination.url) {
            return .failed(statusCode: nil, error: "refused target: \(refusal)")
        }
        let body = Array(event.payload.canonicalText.utf8)
        let timestamp: Int64
        if case .int(let value) = event.payload["timestamp"] { timestamp = value } else { timestamp = Int64(event.createdAt.timeIntervalSince1970) }
        let input = WebhookSigningInput(
            body: body, payload: event.payload, eventID: event.id, timestamp: timestamp,
            sessionID: event.sessionID ?? "", status: event.payload["status"]?.stringValue ?? "",
            webhookType: event.type.rawValue)
        var request = HTTPClientRequest(url: destination.url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "Clearance-Webhooks/1")
        for (name, value) in WebhookSignature.headers(input, current: destination.secret, previous: destination.previousSecret(at: clock.now())) {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: requestTimeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)
        } catch {
            return retryOutcome(delivery, statusCode: nil, error: "\(error)")
        }
        let code = Int(response.status.code)
        switch code {
        case 200..<300:
            return .delivered(statusCode: code)
        case 410:
            try await store.deliveries.disableDestination(id: destination.id, now: clock.now())
            return .failed(statusCode: code, error: "410 Gone: the destination was disabled")
        case 429, 503:
            if let wait = Self.retryAfter(response.headers.first(name: "retry-after"), now: clock.now()),
                delivery.attempts + 1 < Self.schedule.count + 1
            {
                return .retry(at: clock.now().addingTimeInterval(max(1, wait) * retryScale), statusCode: code, error: "HTTP \(code)")
            }
            return retryOutcome(delivery, statusCode: code, error: "HTTP \(code)")
        default:
            return retryOutcome(delivery, statusCode: code, error: "HTTP \(code)")
        }
    }

    /// The next try on the schedule (±10 % jitter), or failed when spent.
    func retryOutcome(_ delivery: ClaimedDelivery, statusCode: Int?, error: String) -> DeliveryOutcome {
        guard delivery.attempts < Self.schedule.count else { return .failed(statusCode: statusCode, error: error) }
        let base = Self.schedule[delivery.attempts] * retryScale
        let jitter = base * Double.random(in: -0.1...0.1)
        return .retry(at: clock.now().addingTimeInterval(base + jitter), statusCode: statusCode, error: String(error.prefix(500)))
    }

    /// `Retry-After` as seconds or an HTTP date.
    static func retryAfter(_ value: String?, now: Date) -> TimeInterval? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = TimeInterval(value), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value).map { max(0, $0.timeIntervalSince(now)) }
    }
}
