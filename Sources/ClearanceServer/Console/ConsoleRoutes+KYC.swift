import Foundation
import HTTPTypes
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// KYC reviews: the queue of versions under review and the version page,
/// whose actions call `KYCService.review` with the API's own validation.
extension ConsoleRoutes {
    static let kycRoles: [Role] = [.claimIssuer, .identityManager]

    @Sendable func kycQueuePage(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let viewer = try viewer(request, context)
        try context.require(anyOf: Self.kycRoles)
        let filter = request.uri.queryParameters.get("assignee") ?? "anyone"
        let assignee: KYCAssigneeFilter = switch filter {
        case "me": .user(viewer.userID)
        case "unassigned": .nobody
        default: .anyone
        }
        let (total, items) = try await queue.kycQueue(
            environment: viewer.principal.environment, assignee: assignee, limit: 100, offset: 0)
        let now = clock.now()
        let rows: [[String: Any]] = items.map { item in
            let waiting = now.timeIntervalSince(item.submittedAt)
            var row: [String: Any] = [
                "id": item.versionID, "user_id": item.userID, "number": item.versionNumber,
                "age": ConsoleFormat.age(waiting), "since": ConsoleFormat.time(item.submittedAt),
                "documents": item.documentsCount, "overdue": waiting > reviewSLA, "resubmission": item.isResubmission,
                "mine": item.assigneeID == viewer.userID, "back": "/console/kyc?assignee=\(filter)",
            ]
            if let email = item.assigneeEmail { row["assignee"] = email }
            return row
        }
        return renderer.page(
            "kyc", title: "KYC reviews", viewer: viewer, active: "kyc",
            [
                "rows": rows, "total": total, "empty": rows.isEmpty, "sla_hours": Self.hours(reviewSLA),
                "filters": ["anyone", "me", "unassigned"].map { ["value": $0, "selected": $0 == filter] },
            ])
    }

    /// "Assign to me" (`to=me`) or release (`to=nobody`) for a KYC version.
    @Sendable func kycAssign(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        var request = request
        _ = try viewer(request, context)
        let principal = try context.require(anyOf: Self.kycRoles)
        guard let id = KYCIdentifier.version.normalize(try context.parameters.require("version_id")) else {
            throw APIError.notFound("No KYC version with this id.")
        }
        let form = try await ConsoleHTTP.readForm(&request, context: context)
        guard try await review.assignKYC(
            versionID: id, toSelf: form["to"] != "nobody", principal: principal, requestID: context.requestID, now: clock.now())
        else { throw APIError.notFound("No KYC version with this id in this environment.") }
        let back = form["back"].map { ConsoleHTTP.safeNext($0) } ?? "/console/kyc"
        return ConsoleHTTP.redirect(back.hasPrefix("/console/kyc") ? back : "/console/kyc")
    }

    /// The version in this environment, or 404 (another environment's too).
    func kycVersion(_ context: ClearanceRequestContext, _ principal: Principal) async throws -> KYCVersionRecord {
        guard let id = KYCIdentifier.version.normalize(try context.parameters.require("version_id")),
            let (version, environment) = try await store.kyc.version(id: id), environment == principal.environment
        else { throw APIError.notFound("No KYC version with this id in the \(principal.environment.rawValue) environment.") }
        return version
    }

    @Sendable func kycVersionPage(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let viewer = try viewer(request, context)
        try context.require(anyOf: Self.kycRoles)
        let version = try await kycVersion(context, viewer.principal)
        let notice = request.uri.queryParameters.get("notice").flatMap {
            ["approved": "Approved.", "rejected": "Rejected. The person sees the reason.", "update-requested": "Update requested: the person has been asked for changes."][$0]
        }
        return try await renderKYCVersion(version, viewer: viewer, context: context, notice: notice)
    }

    func renderKYCVersion(
        _ version: KYCVersionRecord, viewer: ConsoleViewer, context: ClearanceRequestContext, notice: String? = nil,
        error: String? = nil, form: ConsoleHTTP.Form? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        // The fields are personal data: the viewing is audited first.
        try await store.database.transaction { [store] sql in
            try await store.audit.append(
                AuditEvent(
                    actor: viewer.principal.actor, action: "kyc_version.personal_data_viewed", subjectType: "kyc_version",
                    subjectID: version.id, requestID: context.requestID),
                at: clock.now(), on: sql)
        }
        let (_, history) = try await store.kyc.versions(userID: version.userID, filter: KYCVersionFilter(limit: 100, ascending: true))
        let previous = history.filter { $0.versionNumber < version.versionNumber && $0.status != .draft }.last
        let fields: [[String: Any]] = KYCFields.Name.allCases.map { name in
            var row: [String: Any] = ["label": Self.fieldLabel(name), "value": version.fields[name] ?? "—"]
            if let previous, previous.fields[name] != version.fields[name] {
                row["changed"] = true
                row["before"] = previous.fields[name] ?? "—"
            }
            return row
        }
        let documents = try await store.kyc.documents(versionID: version.id)
        let emails = try await actorNames()
        let chosen = Set(form?.all("required_fields") ?? [])
        var values: [String: Any] = [
            "id": version.id, "user_id": version.userID, "number": version.versionNumber,
            "status": ConsoleFormat.status(version.status.rawValue),
            // The outcome only where it adds something ("changes_requested"), not "rejected (rejected)".
            "outcome": version.reviewOutcome?.rawValue ?? "",
            "has_outcome": version.reviewOutcome.map { $0.rawValue != version.status.rawValue } ?? false,
            "submitted": version.submittedAt.map(ConsoleFormat.time) ?? "—",
            "submitted_by": version.submittedBy.map { emails[$0] ?? $0 } ?? "—",
            "fields": fields, "has_previous": previous != nil, "previous_number": previous?.versionNumber ?? 0,
            "documents": documents.map { document in
                [
                    "id": document.id, "type": document.type, "name": document.fileName, "mime": document.mimeType,
                    "size": "\(max(1, document.size / 1024)) KB", "image": document.mimeType.hasPrefix("image/"),
                ] as [String: Any]
            },
            "has_documents": !documents.isEmpty,
            "history": history.reversed().map { item in
                var row: [String: Any] = [
                    "id": item.id, "number": item.versionNumber, "status": ConsoleFormat.status(item.status.rawValue),
                    "current": item.id == version.id, "created": ConsoleFormat.time(item.createdAt),
                    "reviewed_by": item.reviewedBy.map { emails[$0] ?? $0 } ?? "",
                ]
                if let outcome = item.reviewOutcome { row["outcome"] = outcome.rawValue }
                if let reason = item.rejectionReason { row["reason"] = reason }
                if let notes = item.reviewNotes { row["notes"] = notes }
                return row
            },
            "can_review": version.status == .underReview && version.reviewOutcome == nil,
            "required_vocabulary": KYCReviewRules.requiredFieldVocabulary.map { ["value": $0, "checked": chosen.contains($0)] },
            "rejection_reason": form?["rejection_reason"] ?? "", "reason": form?["reason"] ?? "",
            "review_notes": form?["review_notes"] ?? "", "due_at": form?["due_at"] ?? "",
        ]
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        return renderer.page("kyc_version", title: "KYC version \(version.versionNumber)", viewer: viewer, active: "kyc", values, status: status)
    }

    static func fieldLabel(_ name: KYCFields.Name) -> String {
        switch name {
        case .firstName: "First name"
        case .lastName: "Last name"
        case .dob: "Date of birth"
        case .country: "Country"
        case .residencyStatus: "Residency status"
        case .nationalId: "National id"
        }
    }

    /// Approve, reject or request an update: the API's validation
    /// (`KYCRequests.validate`), then `KYCService.review`, as the console user.
    @Sendable func kycReview(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        var request = request
        let viewer = try viewer(request, context)
        let principal = try context.require(anyOf: Self.kycRoles)
        let version = try await kycVersion(context, principal)
        let form = try await ConsoleHTTP.readForm(&request, context: context)
        let action: KYCReviewAction
        let review: KYCService.Review
        do {
            switch form["action"] {
            case "approve":
                action = .approve
                review = try KYCRequests.validate(KYCRequests.Approve(reviewNotes: form["review_notes"]))
            case "reject":
                action = .reject
                review = try KYCRequests.validate(
                    KYCRequests.Reject(rejectionReason: form["rejection_reason"], reviewNotes: form["review_notes"]))
            case "request_update":
                action = .requestUpdate
                // A date input sends YYYY-MM-DD; the API takes an ISO time: the end of that day, UTC.
                let due = form.text("due_at").map { $0.contains("T") ? $0 : $0 + "T23:59:59.000Z" }
                review = try KYCRequests.validate(
                    KYCRequests.RequestUpdate(
                        reason: form["reason"], requiredFields: form.all("required_fields"), dueAt: due,
                        reviewNotes: form["review_notes"]),
                    now: clock.now())
            default:
                throw APIError.validation(path: "action", "Choose Approve, Reject or Request update.")
            }
            _ = try await KYCService(store: store).review(
                action, versionID: version.id, review: review, principal: principal, requestID: context.requestID, now: clock.now())
        } catch let error as APIError where error.status != .notFound && error.status != .internalServerError {
            let message = error.issues.isEmpty
                ? error.detail
                : error.issues.map { "\(Self.formLabel($0.path)): \($0.message)" }.joined(separator: " ")
            return try await renderKYCVersion(version, viewer: viewer, context: context, error: message, form: form, status: .badRequest)
        }
        let notice = [KYCReviewAction.approve: "approved", .reject: "rejected", .requestUpdate: "update-requested"][action]!
        return ConsoleHTTP.redirect("/console/kyc/versions/\(version.id)?notice=\(notice)")
    }

    /// The API's field names as the form labels them.
    static func formLabel(_ path: String) -> String {
        [
            "rejectionReason": "Rejection reason", "reason": "Reason", "dueAt": "Due date", "reviewNotes": "Review notes",
        ][path] ?? (path.hasPrefix("requiredFields") ? "Required fields" : path)
    }

    /// A document's bytes for the inline viewer: role checked, environment
    /// checked, audited; served with its own type, inline, in a sandbox.
    @Sendable func kycDocument(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.kycRoles)
        guard let id = KYCIdentifier.document.normalize(try context.parameters.require("document_id")),
            let (document, environment) = try await store.kyc.document(id: id), environment == principal.environment
        else { throw APIError.notFound("No KYC document with this id in this environment.") }
        let content = try await store.kyc.documentContent(document)
        try await store.database.transaction { [store] sql in
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc_document.viewed", subjectType: "kyc_document", subjectID: document.id,
                    requestID: context.requestID),
                at: clock.now(), on: sql)
        }
        var headers = HTTPFields()
        headers[.contentType] = document.mimeType
        headers[.contentDisposition] = "inline"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: content)))
    }
}
