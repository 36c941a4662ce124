import Foundation
import Logging
import Prometheus
import ClearanceDomain
import ClearanceServer
import ClearanceStore

/// A store, its server environment and an admin key, for route tests.
public struct TestServer: Sendable {
    public var store: Store
    public var location: DatabaseLocation
    public var environment: ServerEnvironment
    public var adminKey: String
    /// What passed through this server and must not reach its log.
    public var secrets: SecretLedger

    /// Creates a key with exactly these grants.
    public func key(
        _ privileges: [Privilege] = [], roles: [Role] = [], environment keyEnvironment: KeyEnvironment = .live,
        expiresAt: Date? = nil, name: String = "test"
    ) async throws -> (id: String, key: String) {
        let (record, key) = try await APIKeyService(store: store).create(
            .init(name: name, environment: keyEnvironment, privileges: privileges, roles: roles, expiresAt: expiresAt),
            actor: "test", requestID: nil, now: Date())
        secrets.record(key, as: "api key")
        return (record.id, key)
    }

    public static func with<T: Sendable>(
        configuration: ServerConfiguration = ServerConfiguration(port: 0, publicURL: "http://clearance.test"),
        clock: ServerClock = .system,
        _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        // Everything logged while this server runs is read back at the end and
        // searched for the secrets that passed through it.
        let reader = LogCapture.shared.begin()
        let secrets = SecretLedger()
        let result: T
        do {
            result = try await TestDatabase.withStore { store, location in
                let environment = ServerEnvironment(
                    store: store, configuration: configuration, clock: clock, registry: PrometheusCollectorRegistry(),
                    logger: TestDatabase.logger)
                let (_, adminKey) = try await APIKeyService(store: store).create(
                    .init(name: "admin", environment: .live, privileges: Privilege.allCases, roles: [.admin]),
                    actor: "test", requestID: nil, now: Date())
                secrets.record(adminKey, as: "admin key")
                return try await body(
                    TestServer(store: store, location: location, environment: environment, adminKey: adminKey, secrets: secrets))
            }
        } catch {
            _ = LogCapture.shared.end(reader)
            throw error
        }
        let leaks = secrets.leaks(in: LogCapture.shared.end(reader))
        if !leaks.isEmpty { throw SecretsInLog(leaks: leaks) }
        return result
    }
}
