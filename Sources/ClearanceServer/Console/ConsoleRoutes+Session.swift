import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

extension ConsoleRoutes {
    @Sendable func sessionPage(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let viewer = try viewer(request, context)
        try context.require(.readSessions)
        let notice = request.uri.queryParameters.get("notice").flatMap { Self.notices[$0] }
        return try await renderSession(try SessionRoutes.sessionID(context), viewer: viewer, context: context, notice: notice)
    }

    static let notices: [String: String] = [
        "approved": "Approved. The integration is notified by webhook.",
        "declined": "Declined. The integration is notified by webhook.",
        "resubmitted": "Resubmission requested for the chosen steps.",
        "reopened": "Reopened: the session is back in review.",
        "unchanged": "Nothing changed: the session already had that status.",
        "first-approval": "Your approval is recorded. Under four-eyes a second reviewer must confirm it.",
        "assigned": "Assigned to you.",
        "unassigned": "Released: nobody is assigned.",
    ]

    /// The whole session for one reviewer. Showing decrypted personal data
    /// writes an audit entry naming the viewer first.
    func renderSession(
        _ id: String, viewer: ConsoleViewer, context: ClearanceRequestContext, notice: String? = nil, error: String? = nil,
        form: ConsoleHTTP.Form? = nil, preview: [String: Any]? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let principal = viewer.principal
        guard let session = try await store.sessions.find(id: id, environment: principal.environment) else {
            throw APIError.notFound("No session with this id in the \(principal.environment.rawValue) environment.")
        }
        try await review.recordView(sessionID: id, principal: principal, requestID: context.requestID, now: clock.now())
        let workflow = try await store.workflows.find(id: session.workflowID, version: session.workflowVersion)
        let nodes = try await store.sessions.nodes(sessionID: id, on: nil)
        let reviews = try await store.sessions.reviews(sessionID: id, on: nil)
        let assignee = try await queue.assignee(sessionID: id)
        let firstApproval = try await queue.firstApproval(sessionID: id).flatMap { $0.eventSequence == session.eventSequence ? $0 : nil }
        let emails = try await actorNames()
        let chosenNodes = Set(form?.all("nodes") ?? [])

        let nodeRows: [[String: Any]] = nodes.map { node in
            let resubmittable = node.feature != .kybRegistry && node.feature != .kybKeyPeople
            return [
                "node_id": node.nodeID, "feature": node.feature.rawValue, "status": ConsoleFormat.status(node.status.rawValue),
                "updated": ConsoleFormat.time(node.updatedAt),
                "warnings": node.warnings.map { warning in
                    [
                        "code": warning.code, "risk": warning.risk, "severity": warning.severity,
                        "short": warning.shortDescription, "long": warning.longDescription,
                    ]
                },
                "has_warnings": !node.warnings.isEmpty, "data": ConsoleFormat.rows(node.data),
                "has_data": !ConsoleFormat.rows(node.data).isEmpty,
                "resubmittable": resubmittable,
                "checked": form == nil ? (resubmittable && node.status != .approved) : chosenNodes.contains(node.nodeID),
            ]
        }
        let canDecide = principal.has(.writeSessions) && SessionStateMachine.manualSources.contains(session.status)
        var values: [String: Any] = [
            "id": session.id, "number": session.number, "status": ConsoleFormat.status(session.status.rawValue),
            "kind": session.kind.rawValue, "vendor_data": session.vendorData ?? "—",
            "workflow": workflow.map { "\($0.name) v\($0.version)" } ?? session.workflowID,
            "four_eyes": workflow?.settings.fourEyes ?? false, "country": session.country ?? "—",
            "created": ConsoleFormat.time(session.createdAt), "updated": ConsoleFormat.time(session.updatedAt),
            "expires": ConsoleFormat.time(session.expiresAt),
            "attempts": "\(session.resubmit.attemptsUsed) of \(workflow?.settings.maxResubmitAttempts ?? 0) used",
            "nodes": nodeRows,
            "warnings_total": nodes.reduce(0) { $0 + $1.warnings.count },
            "contact": ConsoleFormat.rows(session.personal.contactDetails),
            "expected": ConsoleFormat.rows(session.personal.expectedDetails),
            "has_contact": !ConsoleFormat.rows(session.personal.contactDetails).isEmpty,
            "has_expected": !ConsoleFormat.rows(session.personal.expectedDetails).isEmpty,
            "has_personal": !session.personal.isEmpty, "has_portrait": session.personal.portraitImage != nil,
            "reviews": reviews.reversed().map { review in
                [
                    "at": ConsoleFormat.time(review.createdAt), "actor": emails[review.actor] ?? review.actor,
                    "from": ConsoleFormat.status(review.previousStatus.rawValue),
                    "to": ConsoleFormat.status(review.newStatus.rawValue), "comment": review.comment ?? "",
                ] as [String: Any]
            },
            "can_decide": canDecide, "can_approve": canDecide && session.status != .approved,
            "can_decline": canDecide && session.status != .declined,
            "can_resubmit": canDecide && session.status != .resubmitted,
            "can_reopen": canDecide && session.status != .inReview,
            "can_assign": principal.has(.writeSessions),
            "languages": Language.codes.map { ["code": $0, "selected": $0 == (form?["email_language"] ?? "en")] },
            "comment": form?["comment"] ?? "", "email_address": form?["email_address"] ?? "",
            "send_email": form?["send_email"] != nil,
        ]
        if let portrait = session.personal.portraitImage.flatMap(Self.portraitSource) { values["portrait"] = portrait }
        if let assignee {
            values["assignee"] = assignee.email
            values["assigned_to_me"] = assignee.id == viewer.userID
        }
        if let firstApproval {
            var first: [String: Any] = [
                "by": firstApproval.userEmail, "at": ConsoleFormat.time(firstApproval.createdAt),
                "mine": firstApproval.userID == viewer.userID,
            ]
            if let comment = firstApproval.comment, !comment.isEmpty { first["comment"] = comment }
            values["first_approval"] = first
            // The first approver cannot confirm their own approval: no button to press.
            if firstApproval.userID == viewer.userID { values["can_approve"] = false }
        }
        if principal.has(.readWebhooks) {
            let (_, deliveries) = try await store.deliveries.log(sessionID: id, limit: 50, offset: 0)
            values["can_deliveries"] = true
            values["deliveries"] = deliveries.map(Self.deliveryRow)
        }
        values["can_audit"] = principal.has(.readAudit)
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        if let preview { values["preview"] = preview }
        return renderer.page("session", title: "Session #\(session.number)", viewer: viewer, active: "queue", values, status: status)
    }

    /// People's names for actors in histories: console users by email, API
    /// keys by name; system actors stay as they are.
    func actorNames() async throws -> [String: String] {
        var names: [String: String] = [:]
        for user in try await accounts.list() { names["console:\(user.id)"] = user.email }
        for key in try await store.apiKeys.list() { names["key:\(key.id)"] = "API key “\(key.name)”" }
        return names
    }

    /// A `data:` URL for a JPEG or PNG portrait sent as base64 (or as a data
    /// URL already), so the reviewer sees the face; nil for anything else.
    static func portraitSource(_ text: String) -> String? {
        let base64 = text.hasPrefix("data:image/") ? String(text.drop { $0 != "," }.dropFirst()) : text
        guard base64.count < 8 << 20, let bytes = Data(base64Encoded: base64, options: .ignoreUnknownCharacters), bytes.count > 4
        else { return nil }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "data:image/jpeg;base64," + bytes.base64EncodedString() }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "data:image/png;base64," + bytes.base64EncodedString() }
        return nil
    }

    static func deliveryRow(_ entry: SQLWebhookDeliveryRepository.LogEntry) -> [String: Any] {
        var row: [String: Any] = [
            "id": entry.id, "type": entry.webhookType, "sequence": entry.sequence, "status": ConsoleFormat.status(entry.status),
            "attempts": entry.attempts, "code": entry.lastStatusCode.map(String.init) ?? "—", "error": entry.lastError ?? "",
            "created": ConsoleFormat.time(entry.createdAt),
            "destination": entry.destinationID, "failed": entry.status == "failed",
        ]
        // Mustache treats "" as true: only present values get a key.
        if let sessionID = entry.sessionID { row["session_id"] = sessionID }
        return row
    }

    /// Approve, decline, request resubmission or reopen: through
    /// `SessionService.updateStatus`, as the console user. A refusal shows
    /// the page again with the reason and the form as it was filled.
    @Sendable func decide(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        var request = request
        let viewer = try viewer(request, context)
        let principal = try context.require(.writeSessions)
        let id = try SessionRoutes.sessionID(context)
        let form = try await ConsoleHTTP.readForm(&request, context: context)
        func refuse(_ message: String) async throws -> Response {
            try await renderSession(id, viewer: viewer, context: context, error: message, form: form, status: .badRequest)
        }
        let newStatus: SessionStatus
        switch form["action"] {
        case "approve": newStatus = .approved
        case "decline": newStatus = .declined
        case "resubmit": newStatus = .resubmitted
        case "reopen": newStatus = .inReview
        default: return try await refuse("Choose Approve, Decline, Request resubmission or Reopen.")
        }
        let language = form.text("email_language") ?? "en"
        guard Language.isValid(language) else { return try await refuse("'\(language)' is not a language emails are sent in.") }
        var nodes: [RequestedNode]?
        if newStatus == .resubmitted {
            let chosen = form.all("nodes").filter { !$0.isEmpty }
            guard !chosen.isEmpty else { return try await refuse("Choose at least one step for the person to redo.") }
            nodes = chosen.map { RequestedNode(nodeID: $0) }
        }
        if newStatus == .declined && form.text("comment") == nil {
            return try await refuse("Give a reason when declining: it goes into the review history.")
        }
        let change = SessionService.ManualChange(
            newStatus: newStatus, comment: form.text("comment"), sendEmail: form["send_email"] != nil,
            emailAddress: form.text("email_address"), emailLanguage: language, nodesToResubmit: nodes,
            emailPreviewToken: form.text("preview_token"))
        // An email is shown before it is sent: the first press previews it,
        // the second (carrying the preview's token) makes the change, and the
        // service refuses it (409) if the email would now differ.
        if change.sendEmail, newStatus != .inReview, change.emailPreviewToken == nil {
            let preview: EmailPreview?
            do {
                preview = try await SessionService(store: store).previewEmail(
                    sessionID: id, newStatus: newStatus, requested: nodes, emailAddress: change.emailAddress,
                    language: language, principal: principal, now: clock.now())
            } catch let error as APIError where error.status != .notFound && error.status != .internalServerError {
                return try await refuse(error.detail)
            }
            guard let preview else { throw APIError.notFound("No session with this id in this environment.") }
            guard preview.willBeSent, let token = preview.previewToken else {
                return try await refuse("The email would not be sent: \(preview.notSentReason ?? "no recipient").")
            }
            let verb = ["approve": "Approve", "decline": "Decline", "resubmit": "Request resubmission"][form["action"] ?? ""] ?? "Confirm"
            var values: [String: Any] = [
                "recipient": preview.recipient, "source": preview.recipientSource.replacingOccurrences(of: "_", with: " "),
                "sender_name": preview.senderName, "sender_email": preview.senderEmail, "subject": preview.subject,
                "text": preview.text, "token": token, "action": form["action"] ?? "", "verb": verb,
                "language": language, "chosen": nodes?.map(\.nodeID) ?? [],
            ]
            if let comment = change.comment { values["comment"] = comment }
            if let address = change.emailAddress { values["email_address"] = address }
            return try await renderSession(id, viewer: viewer, context: context, form: form, preview: values)
        }
        let outcome: ConsoleReviewService.Outcome
        do {
            outcome = try await review.decide(sessionID: id, change: change, principal: principal, requestID: context.requestID, now: clock.now())
        } catch let error as APIError where error.status != .notFound && error.status != .internalServerError {
            return try await refuse(error.detail)
        }
        let notice: String
        switch outcome {
        case .notFound: throw APIError.notFound("No session with this id in this environment.")
        case .unchanged: notice = "unchanged"
        case .awaitingSecondReviewer: notice = "first-approval"
        case .changed(let status):
            switch status {
            case .approved: notice = "approved"
            case .declined: notice = "declined"
            case .resubmitted: notice = "resubmitted"
            default: notice = "reopened"
            }
        }
        return ConsoleHTTP.redirect("/console/sessions/\(id)?notice=\(notice)")
    }
}
