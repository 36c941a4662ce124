import Foundation
import Logging
import ServiceLifecycle
import ClearanceDomain
import ClearanceStore

/// Sends queued emails: claims due ones (a lease, so a crashed worker's
/// claims are retaken), builds the MIME message, hands it to the transport
/// and settles it. A permanent refusal (5xx to the envelope or data: an
/// unknown recipient) fails at once; anything else retries on 30 s, 2 min,
/// 10 min, 30 min, 1 h, 3 h, 6 h, 12 h with jitter, then fails. Recipients
/// are never logged, and are scrubbed from stored error texts.
public struct EmailDeliveryService: Service {
    public static let schedule: [TimeInterval] = [30, 120, 600, 1800, 3600, 10800, 21600, 43200]

    let store: Store
    let clock: ServerClock
    let transport: any MailTransport
    let logger: Logger
    /// Multiplies the retry schedule: 1 in production; tests compress it.
    let retryScale: Double
    /// The longest idle wait, a fallback: a queued email wakes the worker at
    /// commit (`CommitSignal`, as for webhooks), a retry at its due time.
    let pollInterval: Duration

    public init(
        store: Store, transport: any MailTransport, clock: ServerClock = .system, retryScale: Double = 1,
        pollInterval: Duration = .seconds(2), logger: Logger
    ) {
        self.store = store
        self.transport = transport
        self.clock = clock
        self.retryScale = retryScale
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// Messages sent at once from this process; SMTP servers throttle more.
    static let batch = 8

    public func run() async throws {
        let signal = store.database.signal(.emails)
        while !Task.isCancelledOrShuttingDown {
            let sent = await deliverDue()
            if sent == 0 {
                var wait = pollInterval
                if let due = try? await store.emails.nextDue() {
                    let seconds = max(0.001, due.timeIntervalSince(clock.now()))
                    wait = min(wait, .milliseconds(Int64(seconds * 1000) + 1))
                }
                let idle = wait
                try? await cancelWhenGracefulShutdown { await signal.wait(upTo: idle) }
            }
        }
    }

    /// One pass: claims and sends up to a batch; answers how many it claimed.
    @discardableResult
    public func deliverDue() async -> Int {
        let claimed: [ClaimedEmail]
        do {
            claimed = try await store.emails.claim(now: clock.now(), lease: 120, limit: Self.batch)
        } catch {
            logger.error("claiming emails failed", metadata: ["error": "\(String(reflecting: error))"])
            return 0
        }
        await withDiscardingTaskGroup { group in
            for email in claimed { group.addTask { await deliver(email) } }
        }
        return claimed.count
    }

    func deliver(_ email: ClaimedEmail) async {
        let outcome = await attempt(email)
        switch outcome {
        case .sent: logger.info("email sent", metadata: ["email": "\(email.id)", "kind": "\(email.kind.rawValue)"])
        case .retry(_, let error), .failed(let error):
            logger.warning("email not sent", metadata: ["email": "\(email.id)", "kind": "\(email.kind.rawValue)", "error": "\(error)"])
        }
        do {
            try await store.emails.settle(email, outcome: outcome, now: clock.now())
        } catch {
            // The lease runs out and another pass retries: at least once.
            logger.error(
                "settling an email failed", metadata: ["email": "\(email.id)", "error": "\(String(reflecting: error))"])
        }
    }

    func attempt(_ email: ClaimedEmail) async -> EmailOutcome {
        guard let message = email.message else { return .failed(error: "the message was erased with its session") }
        let data: String
        do {
            data = try MIMEBuilder.build(message, messageID: email.messageID, date: clock.now(), boundary: "=_clearance_\(email.id)")
        } catch {
            return .failed(error: "cannot build the message: \(error)")
        }
        do {
            try await transport.send(from: message.fromAddress, to: message.to, data: data)
            return .sent
        } catch let error as MailTransportError {
            let text = Self.scrub(error.description, recipient: message.to)
            if case .permanent = error { return .failed(error: text) }
            return retry(email, error: text)
        } catch {
            return retry(email, error: Self.scrub("\(error)", recipient: message.to))
        }
    }

    func retry(_ email: ClaimedEmail, error: String) -> EmailOutcome {
        guard email.attempts < Self.schedule.count else { return .failed(error: error) }
        let base = Self.schedule[email.attempts] * retryScale
        let jitter = base * Double.random(in: -0.1...0.1)
        return .retry(at: clock.now().addingTimeInterval(base + jitter), error: error)
    }

    /// Servers often quote the address they refuse; it must not reach logs
    /// or the unsealed error column.
    static func scrub(_ text: String, recipient: String) -> String {
        String(text.replacingOccurrences(of: recipient, with: "<recipient>", options: .caseInsensitive).prefix(500))
    }
}
