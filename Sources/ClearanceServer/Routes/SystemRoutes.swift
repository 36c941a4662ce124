import Foundation
import Hummingbird
import Prometheus
import ClearanceDomain
import ClearanceStore

/// Unauthenticated operational routes: health, metrics, the API document.
struct SystemRoutes {
    let store: Store
    let clock: ServerClock
    let registry: PrometheusCollectorRegistry
    let openAPI: OpenAPIDocument

    func register(on router: Router<ClearanceRequestContext>) {
        router.get("/health", use: health)
        router.get("/system/healthcheck", use: health)
        router.get("/metrics", use: metrics)
        router.get("/openapi.json", use: document)
    }

    struct Health: Encodable {
        var status: String
        var timestamp: String
    }

    /// 200 `{"status":"ok"}` when the database answers, 503 otherwise.
    @Sendable func health(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let now = Timestamp.iso8601(clock.now())
        do {
            _ = try await store.database.read { sql in try await sql.raw("SELECT 1 AS one").all() }
            return try JSONResponse.make(Health(status: "ok", timestamp: now))
        } catch {
            context.logger.warning("health check: database unreachable", metadata: ["error": "\(error)"])
            return try JSONResponse.make(Health(status: "unavailable", timestamp: now), status: .serviceUnavailable)
        }
    }

    @Sendable func metrics(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }

    @Sendable func document(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: openAPI.json)))
    }
}
