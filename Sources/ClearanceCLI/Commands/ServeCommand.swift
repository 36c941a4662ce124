import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ClearanceServer
import ClearanceStore

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the HTTP server and its background workers.")

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var emailOptions: EmailOptions

    @Option(help: "Address to listen on, HOST:PORT (CLEARANCE_LISTEN, default 127.0.0.1:8080).")
    var listen: String?

    @Option(name: .customLong("public-url"), help: "Base URL used in links (CLEARANCE_PUBLIC_URL).")
    var publicURL: String?

    @Option(name: .customLong("body-limit"), help: "Largest request body in bytes (CLEARANCE_BODY_LIMIT, default 30 MiB).")
    var bodyLimit: Int?

    @Flag(name: .customLong("no-migrate"), help: "Do not apply pending migrations; refuse to start if any are pending.")
    var noMigrate = false

    @Option(name: .customLong("admin-key-file"), help: "Also write the first admin key to this file (mode 0600).")
    var adminKeyFile: String?

    @Flag(name: .customLong("allow-private-webhook-targets"), help: "Allow http:// and private addresses as webhook targets (CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS=1). For tests and closed networks.")
    var allowPrivateWebhookTargets = false

    @Option(name: .customLong("sweep-interval"), help: "Seconds between expiry sweeps (CLEARANCE_SWEEP_INTERVAL, default 30).")
    var sweepInterval: Double?

    @Flag(name: .customLong("no-workers"), help: "Serve HTTP only; run the background workers with `clearance worker` elsewhere.")
    var noWorkers = false

    @Option(name: .customLong("review-sla-hours"), help: "Reviewer console: hours in review before a session is overdue (CLEARANCE_REVIEW_SLA_HOURS, default 24).")
    var reviewSLAHours: Double?

    func run() async throws {
        let environment = Runtime.environment
        let (host, port) = try Settings.listen(flag: listen, environment: environment)
        var draft = ServerConfiguration(
            host: host, port: port,
            publicURL: try Settings.publicURL(flag: publicURL, environment: environment, host: host, port: port),
            bodyLimit: try Settings.bodyLimit(flag: bodyLimit, environment: environment),
            allowPrivateWebhookTargets: try Settings.allowPrivateWebhookTargets(flag: allowPrivateWebhookTargets, environment: environment))
        draft.reviewSLAHours = try Settings.reviewSLAHours(flag: reviewSLAHours, environment: environment)
        let configuration = draft
        let logger = Runtime.logger()
        let store = try await Runtime.openStore(storeOptions, migrate: !noMigrate)
        let (emailSender, emails) = try await Settings.emailDelivery(emailOptions, storeOptions: storeOptions, store: store, logger: logger)

        if let adminKey = try await APIKeyService(store: store).bootstrapAdminKey(now: Date()) {
            Console.line("clearance: created the first admin API key. It is shown once; store it now:")
            Console.line("  \(adminKey)")
            if let adminKeyFile { try Self.writeSecret(adminKey + "\n", to: adminKeyFile) }
        }

        let defaultWorkflow = try await WorkflowService(store: store).seedDefault(now: Date())
        Console.line("clearance: default KYC workflow \(defaultWorkflow)")

        let sweep = SweepService(
            store: store, interval: .milliseconds(Int64(try Settings.sweepInterval(flag: sweepInterval, environment: environment) * 1000)),
            logger: logger)
        let http = WebhookDeliveryService.makeHTTPClient()
        let webhooks = WebhookDeliveryService(
            store: store, allowPrivateTargets: configuration.allowPrivateWebhookTargets,
            retryScale: try Settings.webhookRetryScale(environment: environment), http: http, logger: logger)
        let app = try buildApplication(
            ServerEnvironment(store: store, configuration: configuration.sending(as: emailSender), logger: logger),
            services: noWorkers ? [] : [sweep, webhooks, emails],
            onServerRunning: { address in
                Console.line("clearance: listening on \(address) (public URL \(configuration.publicURL))")
            })
        try await Runtime.run(store: store, http: http) { try await app.runService() }
    }

    /// Creates `path` with mode 0600 (replacing an older file).
    static func writeSecret(_ text: String, to path: String) throws {
        unlink(path)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw CommandFailure("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count else {
            throw CommandFailure("cannot write \(path)")
        }
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply pending database migrations (a no-op when up to date).")

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let (location, _) = try Runtime.location(storeOptions)
        let database = try await Runtime.openDatabase(location)
        do {
            let applied = try await Migrator(database: database).migrate()
            if applied.isEmpty {
                print("clearance: \(location.redacted) is up to date (schema version \(Migrations.latestVersion))")
            } else {
                print("clearance: applied migrations \(applied.map(String.init).joined(separator: ", ")) to \(location.redacted)")
            }
        } catch let error as Migrator.SchemaTooNew {
            await database.close()
            throw CommandFailure(error.description)
        }
        await database.close()
    }
}

/// Unbuffered standard output, so scripts that read the server's first
/// lines see them at once even through a pipe.
enum Console {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
