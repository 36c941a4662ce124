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
            var headers: HTTPFields = [Self.replayedHeader: "true"]
            if let contentType = stored.contentType { headers[.contentType] = contentType }
            return Response(
                status: .init(code: stored.status), headers: headers,
                body: .init(byteBuffer: ByteBuffer(bytes: stored.body)))
        case .inFlight:
            throw APIError.conflict(
                "A request with this Idempotency-Key is still being processed.", code: "IDEMPOTENCY_IN_PROGRESS")
        case .mismatch:
            throw APIError(
                .unprocessableContent, code: "IDEMPOTENCY_KEY_REUSED",
                detail: "This Idempotency-Key was used with a different request.")
        case .proceed:
            break
        }

        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            try? await repository.release(claim)
            throw error
        }
        guard response.status.code < 400 else {
            try? await repository.release(claim)
            return response
        }
        let (bytes, replayable) = try await Self.collect(response)
        try await repository.complete(
            claim, response: StoredResponse(status: Int(response.status.code), contentType: response.headers[.contentType], body: Data(bytes.readableBytesView)))
        return replayable
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
