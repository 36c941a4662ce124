import Dispatch
import HTTPTypes
import Hummingbird
import Metrics
import Prometheus

/// Counts requests and times them per route (the registered path, not the
/// raw URL, so ids do not explode the label set), through swift-metrics
/// into this server's own Prometheus registry.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = ClearanceRequestContext
    let factory: PrometheusMetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = DispatchTime.now().uptimeNanoseconds
        let response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        let dimensions = [("method", request.method.rawValue), ("route", route)]
        Counter(
            label: "clearance_http_requests_total",
            dimensions: dimensions + [("status", String(response.status.code))], factory: factory
        ).increment()
        Timer(label: "clearance_http_request_duration_seconds", dimensions: dimensions, factory: factory)
            .recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
        return response
    }
}
