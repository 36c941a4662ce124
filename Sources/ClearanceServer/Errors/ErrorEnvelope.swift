import Foundation
import Hummingbird
import ClearanceDomain

/// Renders an `APIError` in the dialect of the path it answers.
enum ErrorEnvelope {
    enum Dialect {
        case sessions
        case kyc

        init(path: String) {
            self = path.hasPrefix("/api/v2/") || path == "/api/v2" ? .kyc : .sessions
        }
    }

    static func response(for error: APIError, dialect: Dialect, requestID: String) -> Response {
        let body: JSONValue
        switch dialect {
        case .sessions: body = sessionsBody(error, requestID: requestID)
        case .kyc: body = kycBody(error, requestID: requestID)
        }
        var headers = error.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(
            status: error.status, headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: body.canonicalText)))
    }

    /// `{"detail", "code", "errors"?, "request_id"}`; `errors` maps each
    /// field to its messages.
    static func sessionsBody(_ error: APIError, requestID: String) -> JSONValue {
        var object: [String: JSONValue] = [
            "detail": .string(error.detail), "code": .string(error.code), "request_id": .string(requestID),
        ]
        if !error.issues.isEmpty {
            var fields: [String: [JSONValue]] = [:]
            for issue in error.issues { fields[issue.path, default: []].append(.string(issue.message)) }
            object["errors"] = .object(fields.mapValues(JSONValue.array))
        }
        return .object(object)
    }

    /// The DALP envelope (`kyc-profiles.md`).
    static func kycBody(_ error: APIError, requestID: String) -> JSONValue {
        let id = error.dalpID ?? defaultDALPID(for: error.status)
        var data: [String: JSONValue] = [
            "id": .string(id),
            "category": .string(category(for: error.status)),
            "retryable": .bool(error.status == .tooManyRequests || error.status.code >= 500),
            "why": .string(error.detail),
            "fix": .string(fix(for: error.status)),
            "requestId": .string(requestID),
        ]
        if !error.issues.isEmpty {
            data["issues"] = .array(
                error.issues.map { ["path": .string($0.path), "message": .string($0.message)] })
        }
        return [
            "code": .string(error.code),
            "status": .int(Int64(error.status.code)),
            "message": .string(error.detail),
            "data": .object(data),
        ]
    }

    static func defaultDALPID(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400, 413: "DALP-0001"
        case 401: "DALP-0002"
        case 403: "DALP-0006"
        case 404: "DALP-0004"
        case 405: "DALP-0005"
        case 409: "DALP-0009"
        case 422: "DALP-0022"
        case 429: "DALP-0029"
        default: "DALP-0500"
        }
    }

    static func category(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400, 413, 422: "validation"
        case 401: "authentication"
        case 403: "authorization"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 409: "conflict"
        case 429: "rate_limit"
        default: "internal"
        }
    }

    static func fix(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400, 413: "Correct the fields listed in issues and send the request again."
        case 401: "Send a valid, unexpired API key as 'Authorization: Bearer <key>' or 'x-api-key'."
        case 403: "Use a key that holds the required role or privilege."
        case 404: "Check the id in the path."
        case 409: "Read the resource's current state, then decide whether to act again."
        case 422: "Use a new Idempotency-Key for a different request."
        case 429: "Wait for the time in Retry-After, then retry."
        default: "Retry later; if it persists, contact the operator with the request id."
        }
    }
}
