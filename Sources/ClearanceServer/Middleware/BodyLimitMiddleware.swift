import HTTPTypes
import Hummingbird

/// Refuses a declared oversize body before reading it, and tells later
/// readers the limit for bodies sent without a length.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = ClearanceRequestContext
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        let limit = KYCDocumentRoutes.isUpload(request) ? max(limit, KYCDocumentRoutes.uploadBodyLimit) : limit
        context.bodyLimit = limit
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError.payloadTooLarge(limit: limit)
        }
        return try await next(request, context)
    }
}
