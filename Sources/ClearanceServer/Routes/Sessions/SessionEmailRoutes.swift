import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// The two email previews of a session (`emails.md`). They send and write
/// nothing; the token they answer pins the exact email for update-status.
struct SessionEmailRoutes {
    let store: Store
    let clock: ServerClock

    func register(on group: RouterGroup<ClearanceRequestContext>) {
        group.post("/v3/session/:session_id/decision-email-preview/", use: decisionPreview)
        group.post("/v3/session/:session_id/resubmission-preview/", use: resubmissionPreview)
        group.get("/v3/session/:session_id/emails/", use: log)
    }

    /// Whether and when the person was told: each email of the session,
    /// oldest first, without its content or address.
    @Sendable func log(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.readSessions)
        let id = try SessionRoutes.sessionID(context)
        guard try await store.sessions.find(id: id, environment: principal.environment) != nil else {
            throw APIError.notFound("No session with this id.")
        }
        let emails = try await store.emails.emails(sessionID: id)
        let results: [JSONValue] = emails.map { email in
            [
                "email_id": .string(email.id), "kind": .string(email.kind.rawValue), "language": .string(email.language),
                "status": .string(email.status), "attempts": .int(Int64(email.attempts)),
                "last_error": email.lastError.map(JSONValue.string) ?? .null,
                "created_at": .string(Timestamp.iso8601(email.createdAt)),
                "sent_at": email.sentAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
                "next_attempt_at": email.nextAttemptAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
            ]
        }
        return try JSONResponse.make(["count": .int(Int64(results.count)), "results": .array(results)] as JSONValue)
    }

    var service: SessionService { SessionService(store: store) }

    struct DecisionBody: Decodable {
        var new_status: String
        var email_language: String?
        var email_address: String?
    }

    struct ResubmissionBody: Decodable {
        var nodes_to_resubmit: [SessionRequests.NodeItem]?
        var email_language: String?
        var email_address: String?
    }

    @Sendable func decisionPreview(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeSessions)
        let id = try SessionRoutes.sessionID(context)
        var request = request
        let body = try await request.decodeJSON(DecisionBody.self, context: context)
        var issues: [FieldIssue] = []
        let status = SessionStatus(label: body.new_status)
        if status != .approved && status != .declined {
            issues.append(FieldIssue(path: "new_status", message: "'\(body.new_status)' has no decision email; use Approved or Declined."))
        }
        let language = try Self.check(language: body.email_language, address: body.email_address, issues: &issues)
        guard issues.isEmpty, let status else { throw APIError.validation(issues) }
        return try await answer(
            service.previewEmail(
                sessionID: id, newStatus: status, requested: nil, emailAddress: body.email_address, language: language,
                principal: principal, now: clock.now()))
    }

    @Sendable func resubmissionPreview(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.writeSessions)
        let id = try SessionRoutes.sessionID(context)
        var request = request
        let body = try await request.decodeJSON(ResubmissionBody.self, context: context)
        var issues: [FieldIssue] = []
        let language = try Self.check(language: body.email_language, address: body.email_address, issues: &issues)
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return try await answer(
            service.previewEmail(
                sessionID: id, newStatus: .resubmitted, requested: body.nodes_to_resubmit?.map(\.value),
                emailAddress: body.email_address, language: language, principal: principal, now: clock.now()))
    }

    static func check(language: String?, address: String?, issues: inout [FieldIssue]) throws -> String {
        let language = language ?? "en"
        if !Language.isValid(language) {
            issues.append(FieldIssue(path: "email_language", message: "'\(language)' is not a supported language code."))
        }
        if let address, !FieldRules.isEmail(address) {
            issues.append(FieldIssue(path: "email_address", message: "Must be an email address."))
        }
        return language
    }

    func answer(_ preview: EmailPreview?) throws -> Response {
        guard let preview else { throw APIError.notFound("No session with this id.") }
        let body: JSONValue = [
            "recipient": .string(preview.recipient), "recipient_source": .string(preview.recipientSource),
            "sender_name": .string(preview.senderName), "sender_email": .string(preview.senderEmail),
            "subject": .string(preview.subject), "text": .string(preview.text), "html": .string(preview.html),
            "will_be_sent": .bool(preview.willBeSent), "not_sent_reason": preview.notSentReason.map(JSONValue.string) ?? .null,
            "preview_token": preview.previewToken.map(JSONValue.string) ?? .null,
        ]
        return try JSONResponse.make(body)
    }
}
