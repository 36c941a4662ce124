import Foundation
import SQLKit
import ClearanceDomain
import ClearanceStore

/// The three reviewer actions. Each is one transaction: lock the user, check
/// the version's state, write the version, then the profile, action
/// requests, audit and the `kyc.*` event. Any error rolls all of it back.
extension KYCService {
    public struct Review: Sendable {
        public var reviewNotes: String?
        public var rejectionReason: String?
        public var reason: String?
        public var requiredFields: [String]
        public var dueAt: Date?

        public init(
            reviewNotes: String? = nil, rejectionReason: String? = nil, reason: String? = nil, requiredFields: [String] = [],
            dueAt: Date? = nil
        ) {
            self.reviewNotes = reviewNotes
            self.rejectionReason = rejectionReason
            self.reason = reason
            self.requiredFields = requiredFields
            self.dueAt = dueAt
        }
    }

    public struct ReviewResult: Sendable {
        public var version: KYCVersionRecord
        public var actionRequest: KYCActionRequestRecord?
    }

    public func review(
        _ action: KYCReviewAction, versionID: String, review: Review, principal: Principal, requestID: String?, now: Date
    ) async throws -> ReviewResult {
        try await store.database.transaction { sql in
            var (user, version) = try await lockedVersion(
                versionID, principal: principal, on: sql, missing: KYCReviewMachine.missing(action).apiError)
            let settings = try await KYCSettings.load(store, on: sql)
            if let refusal = KYCReviewMachine.refusal(
                action, status: version.status, fourEyes: settings.fourEyes, submittedBy: version.submittedBy,
                actor: principal.actor)
            {
                throw refusal.apiError
            }
            let before: JSONValue = [
                "status": .string(version.status.rawValue),
                "review_outcome": version.reviewOutcome.map { .string($0.rawValue) } ?? .null,
            ]
            let previousStatus = version.status
            (version.status, version.reviewOutcome) = action.result
            version.reviewedAt = now
            version.reviewedBy = principal.actor
            var resolved: [(KYCActionRequestRecord, KYCActionRequestStatus)] = []
            var created: KYCActionRequestRecord?
            var previousApproved: KYCVersionRecord?

            switch action {
            case .approve:
                version.reviewNotes = review.reviewNotes
                let identity = store.kyc.identityIndex(
                    nationalID: version.fields[.nationalId] ?? "", country: version.fields[.country] ?? "")
                try await store.kyc.lockIdentity(identity, on: sql)
                if try await store.kyc.identityTaken(identity, otherThan: user.id, on: sql) {
                    throw APIError.conflict(
                        "Another user's approved version has the same nationalId and country.", code: "KYC_IDENTITY_NOT_UNIQUE")
                }
                // The approval this one replaces gives up its identity first (the index is unique).
                if let approvedID = user.approvedVersionID, var old = try await store.kyc.version(id: approvedID, on: sql)?.0 {
                    old.status = .superseded
                    old.approvedIdentity = nil
                    try await store.kyc.saveVersion(old, on: sql)
                    previousApproved = old
                }
                version.approvedIdentity = identity
            case .reject:
                version.reviewNotes = review.reviewNotes
                version.rejectionReason = review.rejectionReason
            case .requestUpdate:
                version.reviewNotes = review.reviewNotes ?? review.reason
            }
            try await store.kyc.saveVersion(version, on: sql)

            try faultAfterVersionUpdate?()

            switch action {
            case .approve:
                user.approvedVersionID = version.id
                user.profileFirstName = version.fields[.firstName]
                user.profileLastName = version.fields[.lastName]
                user.needsUpdate = false
                for request in try await store.kyc.resolveOpenRequests(userID: user.id, to: .fulfilled, at: now, on: sql) {
                    resolved.append((request, .fulfilled))
                }
            case .reject:
                user.needsUpdate = false
                for request in try await store.kyc.resolveOpenRequests(
                    userID: user.id, versionID: version.id, to: .cancelled, at: now, on: sql)
                {
                    resolved.append((request, .cancelled))
                }
            case .requestUpdate:
                user.needsUpdate = true
                for request in try await store.kyc.resolveOpenRequests(userID: user.id, to: .cancelled, at: now, on: sql) {
                    resolved.append((request, .cancelled))
                }
                let request = KYCActionRequestRecord(
                    id: KYCIdentifier.actionRequest.make(now: now), userID: user.id, versionID: version.id, status: .open,
                    reason: review.reason ?? "", requiredFields: review.requiredFields, dueAt: review.dueAt, requestedAt: now,
                    requestedBy: principal.actor)
                try await store.kyc.insertActionRequest(request, on: sql)
                created = request
            }
            user.eventSequence += 1
            user.updatedAt = now
            try await store.kyc.saveProfile(user, on: sql)

            if let old = previousApproved {
                try await revokeAttestations(
                    of: old, by: version.id, actor: principal.actor, requestID: requestID, now: now, on: sql)
                try await store.audit.append(
                    AuditEvent(
                        actor: principal.actor, action: "kyc.version.superseded", subjectType: "kyc_version", subjectID: old.id,
                        before: ["status": "approved"], after: ["status": "superseded", "by": .string(version.id)],
                        requestID: requestID),
                    at: now, on: sql)
            }
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc.version.\(action.auditName)", subjectType: "kyc_version",
                    subjectID: version.id, before: before,
                    after: [
                        "status": .string(version.status.rawValue),
                        "review_outcome": version.reviewOutcome.map { .string($0.rawValue) } ?? .null,
                        "user_id": .string(user.id),
                    ],
                    // The reviewer's words are not personal data of the subject; they are the decision.
                    comment: review.rejectionReason ?? review.reason ?? review.reviewNotes, requestID: requestID),
                at: now, on: sql)
            for (request, status) in resolved {
                try await store.audit.append(
                    AuditEvent(
                        actor: principal.actor, action: "kyc.action_request.\(status.rawValue)", subjectType: "kyc_action_request",
                        subjectID: request.id, before: ["status": "open"], after: ["status": .string(status.rawValue)],
                        requestID: requestID),
                    at: now, on: sql)
            }
            if let created {
                try await store.audit.append(
                    AuditEvent(
                        actor: principal.actor, action: "kyc.action_request.created", subjectType: "kyc_action_request",
                        subjectID: created.id,
                        after: [
                            "status": "open", "version_id": .string(version.id),
                            "required_fields": .array(created.requiredFields.map(JSONValue.string)),
                        ],
                        requestID: requestID),
                    at: now, on: sql)
            }
            try await KYCEvents.enqueue(
                action.eventType, user: user, version: version, previousStatus: previousStatus, actionRequest: created,
                settings: settings, store: store, now: now, on: sql)
            if action != .approve {
                try await reviewerNotice(action, user: user, version: version, actionRequest: created, settings: settings, now: now, on: sql)
            }
            return ReviewResult(version: version, actionRequest: created)
        }
    }

    // MARK: Email to the person

    /// Called inside the reviewer-action transaction after a rejection or an
    /// update request: queues the "KYC rejected" / "KYC changes requested"
    /// email on `sql`, so it commits or vanishes with the decision
    /// (`docs/emails.md`). The profile has no language, so English; an
    /// address that cannot be mailed (non-ASCII) gets no email rather than
    /// blocking the decision.
    func reviewerNotice(
        _ action: KYCReviewAction, user: KYCUserRecord, version: KYCVersionRecord, actionRequest: KYCActionRequestRecord?,
        settings: KYCSettings, now: Date, on sql: any SQLDatabase
    ) async throws {
        guard FieldRules.isEmail(user.email), user.email.allSatisfy(\.isASCII) else { return }
        let decision: KYCEmails.Decision
        switch action {
        case .approve: return
        case .reject: decision = .rejected(reason: version.rejectionReason ?? "")
        case .requestUpdate:
            decision = .changesRequested(
                reason: actionRequest?.reason ?? "", fields: actionRequest?.requiredFields ?? [], dueAt: actionRequest?.dueAt)
        }
        try await KYCEmails.enqueue(
            KYCEmails.Request(
                environment: user.environment, profileID: user.id, recipient: user.email, language: "en",
                firstName: user.profileFirstName ?? version.fields[.firstName] ?? user.firstName, decision: decision),
            sender: store.emailSender, store: store, now: now, on: sql)
    }

    // MARK: Expiry

    /// Expires open action requests whose `dueAt` passed, one transaction
    /// each (user lock, then a conditional UPDATE, so two sweepers never
    /// expire one twice). Answers how many expired.
    public func expireDueActionRequests(now: Date, limit: Int = 100) async throws -> Int {
        let due = try await store.database.read { sql in try await store.kyc.dueActionRequests(now: now, limit: limit, on: sql) }
        var expired = 0
        for request in due {
            let done = try await store.database.transaction { sql -> Bool in
                guard var user = try await store.kyc.lockUser(id: request.userID, on: sql),
                    try await store.kyc.expire(requestID: request.id, now: now, on: sql),
                    let version = try await store.kyc.version(id: request.versionID, on: sql)?.0
                else { return false }
                user.eventSequence += 1
                user.updatedAt = now
                try await store.kyc.saveProfile(user, on: sql)
                try await store.audit.append(
                    AuditEvent(
                        actor: "system", action: "kyc.action_request.expired", subjectType: "kyc_action_request",
                        subjectID: request.id, before: ["status": "open"], after: ["status": "expired"]),
                    at: now, on: sql)
                var expiredRequest = request
                expiredRequest.status = .expired
                expiredRequest.resolvedAt = now
                try await KYCEvents.enqueue(
                    .kycActionRequestExpired, user: user, version: version, previousStatus: nil, actionRequest: expiredRequest,
                    settings: try await KYCSettings.load(store, on: sql), store: store, now: now, on: sql)
                return true
            }
            if done { expired += 1 }
        }
        return expired
    }
}

extension KYCReviewAction {
    var auditName: String {
        switch self {
        case .approve: "approved"
        case .reject: "rejected"
        case .requestUpdate: "changes_requested"
        }
    }

    var eventType: WebhookEventType {
        switch self {
        case .approve: .kycVersionApproved
        case .reject: .kycVersionRejected
        case .requestUpdate: .kycVersionChangesRequested
        }
    }
}
