import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ClearanceDomain

/// Turns every thrown error into the envelope of the path's dialect. Errors
/// it does not know become a 500 whose body says nothing about internals;
/// the log has the detail (never request bodies).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ClearanceRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.translate(error, context: context)
            return ErrorEnvelope.response(
                for: apiError, dialect: .init(path: request.uri.path), requestID: context.requestID)
        }
    }

    static func translate(_ error: any Error, context: Context) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let failure as ValidationFailure:
            return failure.apiError
        case let error as DecodingError:
            return DecodingErrorMapping.apiError(error)
        case let error as HTTPError:
            switch error.status {
            case .notFound: return .notFound()
            case .contentTooLarge: return .payloadTooLarge(limit: context.bodyLimit)
            case .methodNotAllowed:
                return APIError(.methodNotAllowed, code: "METHOD_NOT_ALLOWED", detail: "Method not allowed.")
            default:
                if error.status.code < 500 {
                    return APIError(error.status, code: "BAD_REQUEST", detail: error.body ?? error.status.reasonPhrase)
                }
            }
        default:
            break
        }
        context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
        return APIError(
            .internalServerError, code: "INTERNAL_ERROR",
            detail: "The server could not complete the request. Quote the request id when reporting it.")
    }
}
