import HTTPTypes
import Hummingbird

/// A method the document does not declare for a path it does know is 405
/// with `Allow` (RFC 9110), not the router's 404: a client learns it called
/// the right resource the wrong way. The routes come from the OpenAPI
/// document, which a test holds equal to the router's; paths it does not
/// name (the console's pages) pass through untouched.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = ClearanceRequestContext

    private struct Template {
        var segments: [String?]  // nil: a path parameter
        var methods: Set<String>
    }

    private let templates: [Template]

    init(document: OpenAPIDocument) {
        var byPath: [String: Set<String>] = [:]
        for operation in document.operations {
            let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            byPath[OpenAPIDocument.normalize(parts[1]), default: []].insert(parts[0])
        }
        templates = byPath.map { path, methods in
            Template(
                segments: path.split(separator: "/").map { $0 == "{}" ? nil : String($0) },
                methods: methods)
        }
    }

    /// The methods declared for `path`; nil when no template matches it.
    func methods(for path: String) -> Set<String>? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var found: Set<String>?
        for template in templates where template.segments.count == segments.count {
            let matches = zip(template.segments, segments).allSatisfy { literal, segment in
                literal == nil || literal! == segment
            }
            if matches { found = (found ?? []).union(template.methods) }
        }
        return found
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        // Only a request the router found no route for is looked at: the
        // others (nearly all) pay nothing for this.
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let method = request.method.rawValue
            guard let allowed = methods(for: request.uri.path), !allowed.contains(method) else { throw error }
            throw Self.notAllowed(method, allowed)
        }
    }

    private static func notAllowed(_ method: String, _ allowed: Set<String>) -> APIError {
        var headers = HTTPFields()
        headers[.allow] = allowed.sorted().joined(separator: ", ")
        return APIError(
            .methodNotAllowed, code: "METHOD_NOT_ALLOWED",
            detail: "\(method) is not allowed here; use \(allowed.sorted().joined(separator: " or ")).",
            dalpID: "DALP-0005", headers: headers)
    }
}
