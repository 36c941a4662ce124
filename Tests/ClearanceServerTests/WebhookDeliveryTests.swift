import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

/// The delivery worker against a real receiver on loopback: every kind of
/// answer, the rotation window on an injected clock, wake-up at commit, and
/// (on PostgreSQL) several workers sharing one queue.
@Suite("Webhook delivery")
struct WebhookDeliveryTests {
    /// A clock the test moves; starts at the real time.
    final class MovableClock: Sendable {
        private let offset = NIOLockedValueBox<TimeInterval>(0)
        func advance(_ seconds: TimeInterval) { offset.withLockedValue { $0 += seconds } }
        var clock: ServerClock {
            ServerClock { Timestamp.date(milliseconds: Timestamp.milliseconds(Date().addingTimeInterval(self.offset.withLockedValue { $0 }))) }
        }
    }

    static let http = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2), read: .seconds(2))))

    /// Runs a delivery worker on `store` while `body` runs.
    static func withWorker<T: Sendable>(
        _ store: Store, clock: ServerClock = .system, retryScale: Double = 1, poll: Duration = .seconds(60),
        timeout: TimeAmount = .milliseconds(300), _ body: @Sendable () async throws -> T
    ) async throws -> T {
        let worker = WebhookDeliveryService(
            store: store, clock: clock, allowPrivateTargets: true, retryScale: retryScale, pollInterval: poll,
            requestTimeout: timeout, http: http, logger: TestDatabase.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    func destination(_ server: TestServer, _ url: String, now: Date = Date()) async throws -> WebhookDestinationRecord {
        try await WebhookDestinationService(store: server.store).create(
            label: "t", url: url, enabled: true, events: [.statusUpdated, .dataUpdated],
            principal: TestServer.principal(), requestID: nil, now: now)
    }

    /// A one-node session decided: three events (its node's `data.updated`,
    /// `status.updated` to In Progress, then to Approved).
    func change(_ server: TestServer) async throws -> SessionRecord {
        let workflow = try await server.workflow([.ocr])
        return try await SessionDriver(server: server).decided(workflow, .approved)
    }

    func deliveries(_ server: TestServer, _ destinationID: String) async throws -> [SQLWebhookDeliveryRepository.LogEntry] {
        try await server.store.deliveries.log(destinationID: destinationID, limit: 100, offset: 0).items
    }

    /// Waits until the destination's deliveries have `attempts` attempts each.
    func settled(_ server: TestServer, _ destinationID: String, attempts: Int) async throws -> [SQLWebhookDeliveryRepository.LogEntry] {
        let deadline = ContinuousClock.now + .seconds(60)
        var entries: [SQLWebhookDeliveryRepository.LogEntry] = []
        while ContinuousClock.now < deadline {
            entries = try await deliveries(server, destinationID)
            if !entries.isEmpty, entries.allSatisfy({ $0.attempts >= attempts && $0.status != "in_flight" }) { return entries }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("deliveries did not settle: \(entries.map { ($0.status, $0.attempts) })")
        return entries
    }

    enum Answer: String, CaseIterable, Sendable {
        case serverError, timeout, closed, gone, tooManyRequests, unavailableUntilADate, movedPermanently
    }

    static let httpDate: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter
    }()

    /// Retries are scaled ×100 so none comes due during the test: 5 s on the
    /// schedule is 500 s here, a `Retry-After: 7` is 700 s.
    @Test(arguments: Answer.allCases)
    func eachAnswerIsHandledAsSpecifiedAndRecorded(_ answer: Answer) async throws {
        let elsewhere = try await LoopbackReceiver.start()
        let receiver = try await LoopbackReceiver.start { _ in
            switch answer {
            case .serverError: .respond(status: 500)
            case .timeout: .hang
            case .closed: .close
            case .gone: .respond(status: 410)
            case .tooManyRequests: .respond(status: 429, headers: [("Retry-After", "7")])
            // An HTTP date 20 min ahead: 1,200 s, scaled ×100 to 120,000 s.
            case .unavailableUntilADate:
                .respond(status: 503, headers: [("Retry-After", Self.httpDate.string(from: Date().addingTimeInterval(1200)))])
            case .movedPermanently: .respond(status: 301, headers: [("Location", elsewhere.url)])
            }
        }
        defer { Task { await receiver.close(); await elsewhere.close() } }
        try await TestServer.with { server in
            let hook = try await destination(server, receiver.url)
            // Long enough for a loaded machine; the hanging receiver gets 300 ms.
            try await Self.withWorker(server.store, retryScale: 100, timeout: answer == .timeout ? .milliseconds(300) : .seconds(30)) {
                let started = Date()
                _ = try await change(server)
                let entries = try await settled(server, hook.id, attempts: 1)
                #expect(entries.count == 3, "data.updated and two status.updated")
                for entry in entries {
                    let attempts = try await server.store.deliveries.attempts(deliveryID: entry.id)
                    #expect(attempts.count == 1, "one attempt recorded")
                    // From the attempt, which a loaded machine may make late.
                    let wait = entry.nextAttemptAt.timeIntervalSince(attempts.first?.at ?? started)
                    switch answer {
                    case .gone:
                        #expect(entry.status == "failed")
                        #expect(attempts.first?.statusCode == 410)
                    case .tooManyRequests:
                        #expect(entry.status == "pending")
                        #expect(attempts.first?.statusCode == 429)
                        #expect(wait > 650 && wait < 760, "Retry-After 7 s, scaled: \(wait)")
                    case .unavailableUntilADate:
                        #expect(entry.status == "pending")
                        #expect(attempts.first?.statusCode == 503)
                        #expect(wait > 110_000 && wait < 121_000, "Retry-After as a date, scaled: \(wait)")
                    case .serverError, .movedPermanently:
                        #expect(entry.status == "pending")
                        #expect(attempts.first?.statusCode == (answer == .serverError ? 500 : 301))
                        #expect(wait > 440 && wait < 560, "first retry at 5 s ±10 %, scaled: \(wait)")
                    case .timeout, .closed:
                        #expect(entry.status == "pending")
                        #expect(attempts.first?.statusCode == nil)
                        #expect(attempts.first?.error?.isEmpty == false, "the transport error is recorded")
                        #expect(wait > 440 && wait < 560)
                    }
                }
                if answer == .gone {
                    let disabled = try await server.store.webhookDestinations.find(id: hook.id, environment: .live)
                    #expect(disabled?.enabled == false, "410 disables the destination")
                }
                if answer == .movedPermanently {
                    #expect(elsewhere.requests.isEmpty, "redirects are not followed")
                }
            }
        }
    }

    /// A worker that died holding claims: nobody takes them while the lease
    /// runs, the next worker takes them once it has run out.
    @Test func aDeadWorkersClaimsAreRetakenWhenTheLeaseRunsOut() async throws {
        try await TestServer.with { server in
            _ = try await destination(server, "https://93.184.216.34/hook")
            _ = try await change(server)
            let now = Date()
            let first = try await server.store.deliveries.claim(now: now, lease: 60, limit: 100)
            #expect(first.count == 3)
            let during = try await server.store.deliveries.claim(now: now.addingTimeInterval(59), lease: 60, limit: 100)
            #expect(during.isEmpty, "leased: not in flight twice")
            let after = try await server.store.deliveries.claim(now: now.addingTimeInterval(61), lease: 60, limit: 100)
            #expect(Set(after.map(\.id)) == Set(first.map(\.id)))
            #expect(after.allSatisfy { $0.attempts == 0 }, "an unfinished attempt is not counted")
        }
    }

    @Test func aRotatedSecretSignsBesideTheNewOneFor24HoursThenStops() async throws {
        let receiver = try await LoopbackReceiver.start()
        defer { Task { await receiver.close() } }
        let time = MovableClock()
        try await TestServer.with(clock: time.clock) { server in
            let original = try await destination(server, receiver.url)
            let rotated = try #require(try await WebhookDestinationService(store: server.store).update(
                id: original.id, change: .init(rotateSecret: true), principal: TestServer.principal(), requestID: nil,
                now: time.clock.now()))
            #expect(rotated.secret != original.secret)
            try await Self.withWorker(server.store, clock: time.clock) {
                // 23 h 59 min in: both secrets sign.
                time.advance(24 * 3600 - 60)
                _ = try await change(server)
                let during = try await receiver.wait(for: 3)
                #expect(during.count == 3)
                for request in during {
                    #expect(Self.verifies(request, rawSecret: rotated.secret, header: "x-signature"))
                    #expect(Self.verifies(request, rawSecret: original.secret, header: "x-signature-previous"))
                    let entries = request.header("webhook-signature")?.split(separator: " ").map(String.init) ?? []
                    #expect(entries.count == 2)
                    #expect(entries.contains(Self.standardSignature(request, secret: rotated.secret)))
                    #expect(entries.contains(Self.standardSignature(request, secret: original.secret)))
                }
                // Settled before the clock jumps: a lease outrun by the jump is
                // taken again and sent twice (at least once, as designed).
                #expect(try await settled(server, original.id, attempts: 1).map(\.status) == Array(repeating: "delivered", count: 3))
                // Past 24 h: only the new one.
                time.advance(120)
                _ = try await change(server)
                let all = try await receiver.wait(for: 6)
                #expect(all.count == 6)
                for request in all.dropFirst(3) {
                    #expect(Self.verifies(request, rawSecret: rotated.secret, header: "x-signature"))
                    #expect(request.header("x-signature-previous") == nil)
                    #expect(request.header("x-signature-v2-previous") == nil)
                    #expect(request.header("x-signature-simple-previous") == nil)
                    #expect(request.header("webhook-signature") == Self.standardSignature(request, secret: rotated.secret))
                }
                try Self.hand(during: Array(all.prefix(3)), after: Array(all.dropFirst(3)), old: original.secret, new: rotated.secret)
            }
        }
    }

    /// A worker cancelled mid-request (shutdown) still records the attempt and
    /// hands the delivery back for a retry, instead of leaving it in flight.
    @Test func aCancelledWorkerStillSettlesWhatItWasSending() async throws {
        let receiver = try await LoopbackReceiver.start { _ in .hang }
        defer { Task { await receiver.close() } }
        try await TestServer.with { server in
            let hook = try await destination(server, receiver.url)
            try await Self.withWorker(server.store, timeout: .seconds(30)) {
                _ = try await change(server)
                _ = try await receiver.wait(for: 3)
            }
            let entries = try await deliveries(server, hook.id)
            #expect(entries.map(\.status) == ["pending", "pending", "pending"])
            #expect(entries.allSatisfy { $0.attempts == 1 })
        }
    }

    /// With polling set to ten minutes, only the commit's wake-up can deliver
    /// within the wait (generous: the whole suite loads this 2-core machine).
    /// Its latency is measured by scripts/bench/webhooks.sh, not here.
    @Test func aNewEventIsPickedUpAtCommitNotByPolling() async throws {
        let receiver = try await LoopbackReceiver.start()
        defer { Task { await receiver.close() } }
        try await TestServer.with { server in
            _ = try await destination(server, receiver.url)
            try await Self.withWorker(server.store, poll: .seconds(600)) {
                // Let the worker reach its idle wait first.
                try await Task.sleep(for: .milliseconds(200))
                for round in 1...3 {
                    _ = try await change(server)
                    // Events, not requests: delivery is at least once, and on a
                    // loaded machine a slow answer can be retried.
                    var events: Set<String> = []
                    let deadline = ContinuousClock.now + .seconds(60)
                    while events.count < 3 * round, ContinuousClock.now < deadline {
                        _ = try await receiver.wait(for: 3 * round, timeout: .seconds(60))
                        events = Set(receiver.requests.compactMap { $0.json?["event_id"] as? String })
                        if events.count < 3 * round { try await Task.sleep(for: .milliseconds(50)) }
                    }
                    #expect(events.count == 3 * round, "round \(round) arrived without polling")
                }
            }
        }
    }

    /// Two stores on one PostgreSQL database stand for two processes: a change
    /// committed through one wakes the other's worker (`LISTEN/NOTIFY`), and
    /// workers on both share the queue without sending any delivery twice.
    @Test(.enabled(if: TestDatabase.engine == .postgres))
    func workersInSeveralProcessesShareTheQueue() async throws {
        let receiver = try await LoopbackReceiver.start()
        defer { Task { await receiver.close() } }
        try await TestServer.with { server in
            _ = try await destination(server, receiver.url)
            let other = try await DatabaseFactory.open(server.location, logger: TestDatabase.logger)
            let otherStore = Store(database: other, sealer: server.store.sealer)
            do {
                try await Self.withWorker(otherStore, poll: .seconds(600)) {
                    try await Task.sleep(for: .milliseconds(200))
                    _ = try await change(server)
                    let first = try await receiver.wait(for: 3, timeout: .seconds(60))
                    #expect(first.count == 3, "the other process's worker was woken by NOTIFY")
                    try await Self.withWorker(server.store, poll: .seconds(600)) {
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for _ in 0..<40 {
                                group.addTask {
                                    do { _ = try await change(server) } catch {
                                        Issue.record("\(String(reflecting: error))")
                                        throw error
                                    }
                                }
                            }
                            try await group.waitForAll()
                        }
                        let all = try await receiver.wait(for: 123, timeout: .seconds(60))
                        try await Task.sleep(for: .milliseconds(300))
                        let ids = receiver.requests.compactMap { $0.header("webhook-id") }
                        #expect(all.count == 123)
                        #expect(Set(ids).count == ids.count, "no event delivered twice")
                        #expect(receiver.maxConcurrentPerEvent == 1)
                    }
                }
            } catch {
                await other.close()
                throw error
            }
            await other.close()
        }
    }

    /// For the libraries integrators use: with CLEARANCE_WEBHOOK_CAPTURE_DIR
    /// set (scripts/test sets it), the deliveries and both secrets go to a
    /// file that Tests/compat/test_rotation_capture.py checks with
    /// didit-sdk and standardwebhooks after this suite.
    static func hand(
        during: [LoopbackReceiver.Request], after: [LoopbackReceiver.Request], old: WebhookSecret, new: WebhookSecret
    ) throws {
        guard let directory = ProcessInfo.processInfo.environment["CLEARANCE_WEBHOOK_CAPTURE_DIR"], !directory.isEmpty else { return }
        func requests(_ list: [LoopbackReceiver.Request]) -> [[String: Any]] {
            list.map { request in
                [
                    "headers": Dictionary(request.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a }),
                    "body": Data(request.body).base64EncodedString(),
                ]
            }
        }
        let capture: [String: Any] = [
            "old": ["shared": old.sharedKey, "whsec": old.standardWebhooksSecret],
            "new": ["shared": new.sharedKey, "whsec": new.standardWebhooksSecret],
            "during": requests(during), "after": requests(after),
            "engine": TestDatabase.engine.rawValue,
        ]
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let data = try JSONSerialization.data(withJSONObject: capture, options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: directory).appendingPathComponent("rotation-\(TestDatabase.engine.rawValue).json"))
    }

    // An independent check of the signatures: HMAC computed here, not by
    // the code under test.
    static func verifies(_ request: LoopbackReceiver.Request, rawSecret: WebhookSecret, header: String) -> Bool {
        let key = SymmetricKey(data: Array(rawSecret.sharedKey.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: request.body, using: key)
        return request.header(header) == mac.map { String(format: "%02x", $0) }.joined()
    }

    static func standardSignature(_ request: LoopbackReceiver.Request, secret: WebhookSecret) -> String {
        let message = Array("\(request.header("webhook-id") ?? "").\(request.header("webhook-timestamp") ?? "").".utf8) + request.body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret.bytes))
        return "v1," + Data(mac).base64EncodedString()
    }
}
