import Foundation
import SQLKit
import ClearanceDomain
import ClearanceStore

/// The KYC profile emails (`kyc-profiles.md` reviewer actions). The
/// reviewer actions call `enqueue` inside their own transaction, so the
/// email is queued if and only if the action commits.
public enum KYCEmails {
    public enum Decision: Sendable, Equatable {
        /// Changes requested: the reason, the fields to change (as the
        /// reviewer names them), and when they are due (the action
        /// request's `dueAt`).
        case changesRequested(reason: String, fields: [String], dueAt: Date?)
        case rejected(reason: String)
    }

    public struct Request: Sendable {
        public var environment: KeyEnvironment
        /// The KYC profile the email is about (kept with the outbox row).
        public var profileID: String
        public var recipient: String
        public var language: String
        public var firstName: String?
        public var decision: Decision

        public init(
            environment: KeyEnvironment, profileID: String, recipient: String, language: String, firstName: String?,
            decision: Decision
        ) {
            self.environment = environment
            self.profileID = profileID
            self.recipient = recipient
            self.language = language
            self.firstName = firstName
            self.decision = decision
        }
    }

    /// Renders and queues the email in the caller's transaction; answers the
    /// outbox id. 400 naming `email` or `language` when they are unusable.
    @discardableResult
    public static func enqueue(
        _ request: Request, sender: EmailSender, store: Store, now: Date, on sql: any SQLDatabase
    ) async throws -> String {
        let content = try content(request)
        let rendered = try EmailRenderer.shared().render(content, language: request.language, organisation: sender.name)
        let domain = sender.address.split(separator: "@").last.map(String.init) ?? "clearance.local"
        let email = QueuedEmail(
            environment: request.environment, kind: content.kind, sessionID: nil, subjectID: request.profileID,
            message: MailMessage(
                fromName: MIMEBuilder.headerSafe(sender.name), fromAddress: sender.address, to: request.recipient,
                subject: rendered.subject, text: rendered.text, html: rendered.html, language: request.language),
            messageID: "\(Identifier.random())@\(domain)", createdAt: now)
        try await store.emails.enqueue(email, on: sql)
        return email.id
    }

    /// Checks the request and turns it into what the email says.
    static func content(_ request: Request) throws -> EmailContent {
        var issues: [FieldIssue] = []
        if !FieldRules.isEmail(request.recipient) || !request.recipient.allSatisfy(\.isASCII) {
            issues.append(FieldIssue(path: "email", message: "Must be an email address."))
        }
        if !Language.isValid(request.language) {
            issues.append(FieldIssue(path: "language", message: "'\(request.language)' is not a supported language code."))
        }
        let content: EmailContent
        switch request.decision {
        case .changesRequested(let reason, let fields, let dueAt):
            content = EmailContent(
                kind: .kycChangesRequested, firstName: request.firstName, reason: reason,
                fields: fields.map(MIMEBuilder.headerSafe).filter { !$0.isEmpty }, dueDate: dueAt.map(dueText))
        case .rejected(let reason):
            content = EmailContent(kind: .kycRejected, firstName: request.firstName, reason: reason)
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return content
    }

    /// `2030-01-31`, or `2030-01-31 17:00 UTC` when the deadline is not at
    /// midnight: forms no reader misreads, whatever their locale.
    public static func dueText(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        let day = String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
        if parts.hour == 0 && parts.minute == 0 { return day }
        return day + String(format: " %02d:%02d UTC", parts.hour ?? 0, parts.minute ?? 0)
    }
}
