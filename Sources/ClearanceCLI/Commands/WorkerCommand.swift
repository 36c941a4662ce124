import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import ClearanceServer
import ClearanceStore

/// `clearance worker`: the background workers (webhook delivery, sweeps)
/// without the HTTP server, for deployments that scale them separately.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run only the background workers: webhook delivery and expiry sweeps.")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var emailOptions: EmailOptions

    @Flag(name: .customLong("allow-private-webhook-targets"), help: "As for serve (CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS=1).")
    var allowPrivateWebhookTargets = false

    @Option(name: .customLong("sweep-interval"), help: "Seconds between expiry sweeps (CLEARANCE_SWEEP_INTERVAL, default 30).")
    var sweepInterval: Double?

    func run() async throws {
        let environment = Runtime.environment
        let logger = Runtime.logger()
        let allowPrivate = try Settings.allowPrivateWebhookTargets(flag: allowPrivateWebhookTargets, environment: environment)
        let interval = try Settings.sweepInterval(flag: sweepInterval, environment: environment)
        let retryScale = try Settings.webhookRetryScale(environment: environment)
        let store = try await Runtime.openStore(storeOptions, migrate: false)
        let (_, emails) = try await Settings.emailDelivery(emailOptions, storeOptions: storeOptions, store: store, logger: logger)
        let http = WebhookDeliveryService.makeHTTPClient()
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    SweepService(store: store, interval: .milliseconds(Int64(interval * 1000)), logger: logger),
                    WebhookDeliveryService(
                        store: store, allowPrivateTargets: allowPrivate, retryScale: retryScale, http: http, logger: logger),
                    emails,
                    ReadyLine(),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await Runtime.run(store: store, http: http) { try await group.run() }
    }
}

/// Prints the ready line once the service group runs (its signal handlers
/// are in place by then), then waits for shutdown.
struct ReadyLine: Service {
    func run() async throws {
        Console.line("clearance: worker running (webhook delivery, sweeps)")
        try? await gracefulShutdown()
    }
}
