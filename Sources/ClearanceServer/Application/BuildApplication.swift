import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import ClearanceDomain
import ClearanceStore

/// Everything a running server holds, built once in `buildApplication`.
public struct ServerEnvironment: Sendable {
    public var store: Store
    public var configuration: ServerConfiguration
    public var clock: ServerClock
    public var registry: PrometheusCollectorRegistry
    public var logger: Logger

    public init(
        store: Store, configuration: ServerConfiguration, clock: ServerClock = .system,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        logger: Logger = Logger(label: "clearance")
    ) {
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.registry = registry
        self.logger = logger
    }
}

/// The router with every route and middleware, in the order a request meets
/// them: request id → metrics → errors → 405 for undeclared methods → body
/// limit → (authentication →
/// idempotency → route) for the API families.
public func buildRouter(_ environment: ServerEnvironment) throws -> Router<ClearanceRequestContext> {
    let store = environment.store.withEmail(sender: environment.configuration.emailSender, linkBase: environment.configuration.publicURL)
    let clock = environment.clock
    let publicURL = environment.configuration.publicURL
    let router = Router(context: ClearanceRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: RequestMetricsMiddleware(factory: PrometheusMetricsFactory(registry: environment.registry)))
    router.add(middleware: ErrorMiddleware())
    let openAPI = try OpenAPIDocument.load()
    router.add(middleware: MethodNotAllowedMiddleware(document: openAPI))
    router.add(middleware: BodyLimitMiddleware(limit: environment.configuration.bodyLimit))

    SystemRoutes(store: store, clock: clock, registry: environment.registry, openAPI: openAPI)
        .register(on: router)

    let attestations = KYCAttestationRoutes(store: store, clock: clock, publicURL: publicURL)
    attestations.registerPublic(on: router)

    let api = router.group()
        .add(
            middleware: AuthenticationMiddleware(
                keys: store.apiKeys, clock: clock, usage: KeyUsageRecorder(keys: store.apiKeys)))
        .add(middleware: IdempotencyMiddleware(repository: store.idempotency, clock: clock))
    APIKeyRoutes(store: store, clock: clock, publicURL: publicURL).register(on: api)
    AuditRoutes(store: store, publicURL: publicURL).register(on: api)
    WorkflowRoutes(store: store, clock: clock, publicURL: publicURL).register(on: api)
    SessionRoutes(store: store, clock: clock, publicURL: publicURL).register(on: api)
    SessionEmailRoutes(store: store, clock: clock).register(on: api)
    WebhookDestinationRoutes(
        store: store, clock: clock, publicURL: publicURL,
        targetGuard: WebhookTargetGuard(allowPrivate: environment.configuration.allowPrivateWebhookTargets)
    ).register(on: api)
    WebhookDeliveryRoutes(store: store, clock: clock, publicURL: publicURL).register(on: api)
    KYCRoutes(store: store, clock: clock).register(on: api)
    KYCDocumentRoutes(store: store, clock: clock).register(on: api)
    attestations.register(on: api)
    // The reviewer console: HTML pages with their own cookie sign-in, outside the API group.
    ConsoleRoutes(store: store, clock: clock, configuration: environment.configuration, renderer: try ConsoleRenderer())
        .register(on: router)
    return router
}

/// The HTTP application on the configured address, with the background
/// services that run beside it.
public func buildApplication(
    _ environment: ServerEnvironment, services: [any Service] = [],
    onServerRunning: @escaping @Sendable (String) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = try buildRouter(environment)
    var app = Application(
        router: router,
        configuration: .init(
            address: .hostname(environment.configuration.host, port: environment.configuration.port),
            serverName: "clearance"),
        onServerRunning: { channel in
            let address = channel.localAddress
            await onServerRunning("http://\(address?.ipAddress ?? "?"):\(address?.port ?? 0)")
        },
        logger: environment.logger)
    for service in services { app.addServices(service) }
    return app
}
