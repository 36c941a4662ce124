import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ClearanceDomain
import ClearanceStore

/// `Idempotency-Key` on POST and PATCH (`access.md`): the first successful
/// answer is stored for 24 h and replayed for the same key and request; the
/// same key with another request is 422; while the first runs, 409. Errors
/// are not stored, so a corrected request may reuse its key.
///
/// The key's outcome commits with the change (`IdempotencyScope`): every
/// transaction the handler commits marks the key applied, or stores the
/// answer itself where the route renders it there. A retry after the
/// process died between the change's COMMIT and the stored answer replays
/// that answer, or, where none was stored, is told the change was applied
/// (409 `IDEMPOTENCY_ANSWER_LOST`); it never runs the change again.
public struct IdempotencyMiddleware: RouterMiddleware {
    public typealias Context = ClearanceRequestContext
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    let repository: any IdempotencyRepository
    let clock: ServerClock

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.method == .post || request.method == .patch,
            let key = request.headers[Self.header]
        else {
            return try await next(request, context)
        }
        guard !key.isEmpty, key.count <= 255 else {
            throw APIError.validation(path: "Idempotency-Key", "Must be 1 to 255 characters.")
        }
        let principal = try context.requirePrincipal()
        var request = request
        let body = try await request.collectBodyOr413(context: context)
        let claim = IdempotencyClaim(
            principalID: principal.actor, key: key,
            requestHash: Self.fingerprint(method: request.method.rawValue, uri: request.uri.description, body: body),
            now: clock.now())

        switch try await repository.begin(claim) {
        case .replay(let stored):
            return Self.replay(stored)
        case .inFlight:
            throw Self.inProgress
        case .mismatch:
            throw APIError(
                .unprocessableContent, code: "IDEMPOTENCY_KEY_REUSED",
                detail: "This Idempotency-Key was used with a different request.")
        case .appliedAnswerLost:
            throw APIError.conflict(
                "The request with this Idempotency-Key was applied, but the server stopped before storing its answer; "
                    + "it is not run again. Read the resource to see its state.",
                code: "IDEMPOTENCY_ANSWER_LOST")
        case .proceed:
            break
        }

        let scope = IdempotencyScope(claim: claim, repository: repository)
        let response: Response
        do {
            response = try await scope.run { try await next(request, context) }
        } catch is IdempotencyClaimLost {
            // Our lease lapsed and another request holds the key; our change rolled back.
            throw Self.inProgress
        } catch {
            if !(scope.mayHaveApplied && Self.isServerError(error)) { try? await repository.release(claim) }
            throw error
        }
        guard response.status.code < 400 else {
            // A client error changed nothing (no partial writes); a server
            // error after a commit may follow an applied change, so the key
            // stays applied rather than letting a retry run it again.
            if !(scope.mayHaveApplied && response.status.code >= 500) { try? await repository.release(claim) }
            return response
        }
        if scope.answerStoredWithChange != nil { return response }
        let (bytes, replayable) = try await Self.collect(response)
        do {
            try await repository.complete(
                claim,
                response: StoredResponse(
                    status: Int(response.status.code), contentType: response.headers[.contentType],
                    body: Data(bytes.readableBytesView)))
        } catch {
            // The change is made: answer it. A retry finds the key applied
            // (or, when nothing was written, running until its lease ends).
            context.logger.warning(
                "idempotent answer not stored", metadata: ["error": "\(String(reflecting: error))"])
        }
        return replayable
    }

    static let inProgress = APIError.conflict(
        "A request with this Idempotency-Key is still being processed.", code: "IDEMPOTENCY_IN_PROGRESS")

    static func replay(_ stored: StoredResponse) -> Response {
        var headers: HTTPFields = [Self.replayedHeader: "true"]
        if let contentType = stored.contentType { headers[.contentType] = contentType }
        return Response(
            status: .init(code: stored.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
    }

    /// Whether a thrown error answers 5xx (see `ErrorMiddleware.translate`).
    static func isServerError(_ error: any Error) -> Bool {
        switch error {
        case let error as APIError: error.status.code >= 500
        case is ValidationFailure, is DecodingError: false
        case let error as HTTPError: error.status.code >= 500
        default: true
        }
    }

    /// SHA-256 over method, URI and body: what identifies "the same request".
    public static func fingerprint(method: String, uri: String, body: ByteBuffer) -> String {
        var hasher = SHA256()
        hasher.update(data: Array("\(method) \(uri)\n".utf8))
        hasher.update(data: Array(body.readableBytesView))
        return hasher.finalize().hexString
    }

    /// Reads a response's body and returns it with a copy of the response
    /// that can still be sent.
    static func collect(_ response: Response) async throws -> (ByteBuffer, Response) {
        let box = CollectedBody()
        try await response.body.write(CollectingWriter(box: box))
        var copy = response
        copy.body = .init(byteBuffer: box.buffer)
        return (box.buffer, copy)
    }
}

/// Where `CollectingWriter` puts what it is given; used by one task at a time.
final class CollectedBody: @unchecked Sendable {
    var buffer = ByteBuffer()
}

/// A `ResponseBodyWriter` that keeps what is written.
struct CollectingWriter: ResponseBodyWriter {
    let box: CollectedBody

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        box.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
