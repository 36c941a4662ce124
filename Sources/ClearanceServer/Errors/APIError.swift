import Hummingbird
import ClearanceDomain

/// An error a route answers with. One value renders in either dialect: the
/// `/v3/` envelope `{detail, code, errors?, request_id}` or the DALP envelope
/// under `/api/v2/` (see `ErrorEnvelope`).
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    /// UPPER_SNAKE machine code.
    public var code: String
    /// A sentence for people.
    public var detail: String
    public var issues: [FieldIssue]
    /// The DALP error id (`DALP-0001`) where the KYC dialect names one.
    public var dalpID: String?
    public var headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status, code: String, detail: String, issues: [FieldIssue] = [],
        dalpID: String? = nil, headers: HTTPFields = [:]
    ) {
        self.status = status
        self.code = code
        self.detail = detail
        self.issues = issues
        self.dalpID = dalpID
        self.headers = headers
    }

    public static func unauthenticated(_ detail: String = "Authentication credentials were not provided or are not valid.")
        -> APIError
    {
        APIError(.unauthorized, code: "NOT_AUTHENTICATED", detail: detail, dalpID: "DALP-0002")
    }

    public static func missingPrivilege(_ privilege: Privilege) -> APIError {
        APIError(
            .forbidden, code: "PERMISSION_DENIED",
            detail: "This API key lacks the '\(privilege.rawValue)' privilege.", dalpID: "DALP-0006")
    }

    public static func missingRole(_ roles: [Role]) -> APIError {
        APIError(
            .forbidden, code: "PERMISSION_DENIED",
            detail: "This action needs the system role \(roles.map { "'\($0.rawValue)'" }.joined(separator: " or ")).",
            dalpID: "DALP-0006")
    }

    public static func notFound(_ detail: String = "Not found.", dalpID: String? = nil) -> APIError {
        APIError(.notFound, code: "NOT_FOUND", detail: detail, dalpID: dalpID)
    }

    public static func validation(_ issues: [FieldIssue], detail: String? = nil) -> APIError {
        APIError(
            .badRequest, code: "VALIDATION_ERROR",
            detail: detail ?? issues.map { "\($0.path): \($0.message)" }.joined(separator: "; "),
            issues: issues, dalpID: "DALP-0001")
    }

    public static func validation(path: String, _ message: String) -> APIError {
        validation([FieldIssue(path: path, message: message)])
    }

    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(
            .contentTooLarge, code: "PAYLOAD_TOO_LARGE",
            detail: "The request body is larger than the limit of \(limit) bytes.",
            issues: [FieldIssue(path: "body", message: "larger than \(limit) bytes")], dalpID: "DALP-0001")
    }

    public static func conflict(_ detail: String, code: String = "CONFLICT", dalpID: String? = nil) -> APIError {
        APIError(.conflict, code: code, detail: detail, dalpID: dalpID)
    }
}

extension ValidationFailure {
    public var apiError: APIError { .validation(issues) }
}
