import ClearanceStore
import Foundation
import HTTPTypes
import Hummingbird

/// Gives every request an id: the caller's `x-request-id` when it is a sane
/// token, a new one otherwise. It is echoed on every response and put in the
/// logger's metadata, error bodies and the audit trail.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = ClearanceRequestContext

    static let header = HTTPField.Name("x-request-id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        let requestID = request.headers[Self.header].flatMap(Self.acceptable) ?? Self.generate()
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)
        var response = try await next(request, context)
        response.headers[Self.header] = requestID
        return response
    }

    /// Up to 128 visible ASCII characters; anything else could smuggle
    /// text into logs and headers.
    static func acceptable(_ value: String) -> String? {
        guard !value.isEmpty, value.count <= 128,
            value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else { return nil }
        return value
    }

    static func generate() -> String { Identifier.random() }
}
