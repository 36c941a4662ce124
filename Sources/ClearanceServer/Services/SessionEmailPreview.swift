import Foundation
import ClearanceDomain
import ClearanceStore

/// What a preview answers (`emails.md`): the email exactly as a change made
/// now would send it, whether it would be sent, and a token that pins it.
public struct EmailPreview: Sendable {
    public var recipient: String
    public var recipientSource: String
    public var senderName: String
    public var senderEmail: String
    public var subject: String
    public var text: String
    public var html: String
    public var willBeSent: Bool
    public var notSentReason: String?
    public var previewToken: String?
}

extension SessionService {
    /// `POST …/decision-email-preview/` and `…/resubmission-preview/`:
    /// reads only; sends and writes nothing. Nil when the session does not
    /// exist in this environment.
    public func previewEmail(
        sessionID: String, newStatus: SessionStatus, requested: [RequestedNode]?, emailAddress: String?, language: String,
        principal: Principal, now: Date
    ) async throws -> EmailPreview? {
        guard let session = try await store.sessions.find(id: sessionID, environment: principal.environment) else { return nil }
        guard let kind = Self.decisionKind(newStatus) else {
            throw APIError.validation(path: "new_status", "Emails exist for Approved, Declined and Resubmitted only.")
        }
        let nodes = try await store.sessions.nodes(sessionID: session.id, on: nil)
        var notSent: String?
        var resubmitting: [Feature] = []
        switch SessionStateMachine.manual(current: session.status, requested: newStatus, sendEmail: false, hasRecipient: true) {
        case .unchanged: notSent = "The session is already \(session.status.rawValue): the change would do nothing and send no email."
        case .refused(let refusal):
            notSent = refusal == .wrongCurrentStatus(session.status)
                ? "The session is \(session.status.rawValue); its status cannot be changed by hand yet."
                : refusal.message
        case .change: break
        }
        if kind == .resubmissionRequested {
            guard let workflow = try await store.workflows.find(id: session.workflowID, version: session.workflowVersion)
            else { throw StoreError.corrupt("session \(session.id) names a missing workflow version") }
            switch ResubmissionPlanner.select(
                nodes: nodes.map(\.state), requested: requested, kind: session.kind,
                attemptsUsed: session.resubmit.attemptsUsed, maxAttempts: workflow.settings.maxResubmitAttempts)
            {
            case .success(let selected):
                resubmitting = selected.map(\.feature)
                if notSent == nil, EmailSteps.keys(for: resubmitting).isEmpty { notSent = Self.nothingToAsk }
            case .failure(let failure):
                // The same 400 update-status would give.
                throw failure.apiError
            }
        }
        let plan = try planEmail(
            kind: kind, session: session, nodes: nodes, requestedAddress: emailAddress, language: language, resubmitting: resubmitting)
        if plan.recipient == nil, notSent == nil {
            notSent = "No recipient: give email_address, or create the session with contact_details.email."
        }
        return EmailPreview(
            recipient: plan.recipient?.address ?? "", recipientSource: plan.recipient?.source.rawValue ?? "",
            senderName: plan.message.fromName, senderEmail: plan.message.fromAddress, subject: plan.rendered.subject,
            text: plan.rendered.text, html: plan.rendered.html, willBeSent: notSent == nil, notSentReason: notSent,
            previewToken: notSent == nil
                ? EmailPreviewToken.make(for: plan.message, kind: kind, expires: now.addingTimeInterval(EmailPreviewToken.lifetime), key: previewKey)
                : nil)
    }
}
