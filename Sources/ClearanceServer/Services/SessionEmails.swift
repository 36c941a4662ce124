import Crypto
import Foundation
import SQLKit
import ClearanceDomain
import ClearanceStore

/// One email a session change would send: what it says, and to whom.
struct SessionEmailPlan: Sendable {
    var kind: EmailKind
    var language: String
    var rendered: RenderedEmail
    var message: MailMessage
    /// Nil when no address resolves: nothing can be sent.
    var recipient: (address: String, source: RecipientSource)?
}

extension SessionService {
    /// The first name the person gave or their document shows; the only
    /// personal data an email carries.
    static func firstName(_ session: SessionRecord, nodes: [SessionNodeRecord]) -> String? {
        for node in nodes where node.feature == .ocr {
            if let name = node.data["first_name"]?.stringValue, !name.isEmpty { return name }
        }
        return session.personal.expectedDetails?["first_name"]?.stringValue
    }

    /// An address the person proved in an approved email-verification step.
    static func verifiedEmail(_ nodes: [SessionNodeRecord]) -> String? {
        nodes.first { $0.feature == .emailVerification && $0.status == .approved && $0.data["email"]?.stringValue != nil }?
            .data["email"]?.stringValue
    }

    static func recipient(_ session: SessionRecord, nodes: [SessionNodeRecord], requested: String?) -> (address: String, source: RecipientSource)? {
        RecipientResolver.resolve(
            request: requested, verified: verifiedEmail(nodes), contact: session.personal.contactDetails?["email"]?.stringValue)
    }

    /// Renders the email a change to `status` (or a resubmission of
    /// `resubmitting`) would send.
    func planEmail(
        kind: EmailKind, session: SessionRecord, nodes: [SessionNodeRecord], requestedAddress: String?, language: String,
        resubmitting: [Feature] = []
    ) throws -> SessionEmailPlan {
        let content = EmailContent(
            kind: kind, firstName: Self.firstName(session, nodes: nodes),
            link: kind == .resubmissionRequested ? "\(publicURL)/verify/\(session.token)" : nil,
            steps: kind == .resubmissionRequested ? EmailSteps.keys(for: resubmitting) : [])
        let rendered = try EmailRenderer.shared().render(content, language: language, organisation: emailSender.name)
        let recipient = Self.recipient(session, nodes: nodes, requested: requestedAddress)
        let message = MailMessage(
            fromName: MIMEBuilder.headerSafe(emailSender.name), fromAddress: emailSender.address, to: recipient?.address ?? "",
            subject: rendered.subject, text: rendered.text, html: rendered.html, language: language)
        return SessionEmailPlan(kind: kind, language: language, rendered: rendered, message: message, recipient: recipient)
    }

    /// A resubmission of only the checks that run without the person.
    static let nothingToAsk =
        "The selected checks re-run without the person (AML, database, IP): there is nothing to ask them, so no email is sent."

    static func decisionKind(_ status: SessionStatus) -> EmailKind? {
        switch status {
        case .approved: .decisionApproved
        case .declined: .decisionDeclined
        case .resubmitted: .resubmissionRequested
        default: nil
        }
    }

    /// The automatic decision email, when the integrator asked for it with
    /// `contact_details.send_notification_emails`.
    func automaticEmail(for status: SessionStatus, session: SessionRecord, nodes: [SessionNodeRecord]) throws -> SessionEmailPlan? {
        guard let kind = Self.decisionKind(status), kind != .resubmissionRequested,
            session.personal.contactDetails?["send_notification_emails"] == .bool(true)
        else { return nil }
        var language = session.personal.contactDetails?["email_lang"]?.stringValue ?? "en"
        if !Language.isValid(language) { language = "en" }
        let plan = try planEmail(kind: kind, session: session, nodes: nodes, requestedAddress: nil, language: language)
        return plan.recipient == nil ? nil : plan
    }

    /// Writes the outbox row in the caller's transaction.
    func queueEmail(_ plan: SessionEmailPlan, session: SessionRecord, now: Date, on sql: any SQLDatabase) async throws {
        guard plan.recipient != nil else { return }
        let domain = emailSender.address.split(separator: "@").last.map(String.init) ?? "clearance.local"
        try await store.emails.enqueue(
            QueuedEmail(
                environment: session.environment, kind: plan.kind, sessionID: session.id, message: plan.message,
                messageID: "\(Identifier.random())@\(domain)", createdAt: now),
            on: sql)
    }

    var previewKey: SymmetricKey { store.sealer.derivedKey(purpose: "email preview token") }
}
