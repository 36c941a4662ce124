import Foundation
import Hummingbird
import SQLKit
import ClearanceDomain
import ClearanceStore

/// A domain refusal as the HTTP error it answers with.
extension KYCRefusal {
    var apiError: APIError {
        let status: HTTPResponse.Status =
            switch kind {
            case .notFound: .notFound
            case .conflict: .conflict
            case .forbidden: .forbidden
            }
        return APIError(status, code: code, detail: message, dalpID: dalpID)
    }
}

/// Users, versions, drafts and submission of the KYC dialect. Every change
/// locks the user's row first, so changes to one profile serialize, and
/// writes its audit entry (and event) in the same transaction.
public struct KYCService: Sendable {
    let store: Store
    /// Test-only: runs inside each reviewer action after the version is
    /// written and before the profile is. Nil in production.
    public var faultAfterVersionUpdate: (@Sendable () throws -> Void)?

    public init(store: Store, faultAfterVersionUpdate: (@Sendable () throws -> Void)? = nil) {
        self.store = store
        self.faultAfterVersionUpdate = faultAfterVersionUpdate
    }

    static let versionNotFound = APIError(
        .notFound, code: "KYC_VERSION_NOT_FOUND", detail: "The id does not name a KYC version.", dalpID: "DALP-0419")
    static let userNotFound = APIError.notFound("No user with this id.")

    // MARK: Users

    public struct NewUser: Sendable {
        public var email: String
        public var firstName: String?
        public var lastName: String?
        public var externalID: String?

        public init(email: String, firstName: String? = nil, lastName: String? = nil, externalID: String? = nil) {
            self.email = email
            self.firstName = firstName
            self.lastName = lastName
            self.externalID = externalID
        }
    }

    public func createUser(_ new: NewUser, principal: Principal, requestID: String?, now: Date) async throws -> KYCUserRecord {
        try await store.database.transaction { sql in
            if let externalID = new.externalID,
                try await store.kyc.externalIDTaken(externalID, environment: principal.environment, on: sql)
            {
                throw APIError.conflict("A user with this externalId exists.", code: "EXTERNAL_ID_TAKEN")
            }
            let user = KYCUserRecord(
                id: KYCIdentifier.user.make(now: now), environment: principal.environment, email: new.email,
                firstName: new.firstName, lastName: new.lastName, externalID: new.externalID, createdAt: now, updatedAt: now)
            try await store.kyc.insertUser(user, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc.user.created", subjectType: "kyc_user", subjectID: user.id,
                    after: ["environment": .string(user.environment.rawValue)], requestID: requestID),
                at: now, on: sql)
            return user
        }
    }

    // MARK: Versions

    /// A new draft. One open draft per user: a second is 409 unless
    /// `overwriteDraft`, which deletes the old one. After `changes_requested`
    /// the draft starts from the data of the version that was sent back.
    public func createVersion(
        userID: String, overwriteDraft: Bool, initialData: [KYCFields.Name: String?], principal: Principal,
        requestID: String?, now: Date
    ) async throws -> KYCVersionRecord {
        try await store.database.transaction { sql in
            guard let user = try await store.kyc.lockUser(id: userID, on: sql), user.environment == principal.environment else {
                throw Self.userNotFound
            }
            let versions = try await store.kyc.allVersions(userID: userID, on: sql)
            if let draft = versions.first(where: { $0.status == .draft }) {
                guard overwriteDraft else {
                    throw APIError.conflict(
                        "The user already has an open draft (\(draft.id)); send overwriteDraft: true to replace it.",
                        code: "KYC_DRAFT_EXISTS")
                }
                try await store.kyc.deleteVersion(id: draft.id, on: sql)
                try await store.audit.append(
                    AuditEvent(
                        actor: principal.actor, action: "kyc.version.draft_replaced", subjectType: "kyc_version",
                        subjectID: draft.id, before: ["status": "draft"], requestID: requestID),
                    at: now, on: sql)
            }
            var base = KYCFields()
            var requiredFields: [String] = []
            let sentBack = versions.first { $0.status != .draft }.flatMap { $0.reviewOutcome == .changesRequested ? $0 : nil }
            if let sentBack {
                base = sentBack.fields
                requiredFields = try await store.kyc.actionRequests(userID: userID, status: .open, on: sql)
                    .first { $0.versionID == sentBack.id }?.requiredFields ?? []
            }
            let fields: KYCFields
            switch KYCFieldRules.apply(initialData, to: base, now: now) {
            case .success(let value): fields = value
            case .failure(let failure):
                throw APIError.validation(failure.issues.map { FieldIssue(path: "initialData.\($0.path)", message: $0.message) })
            }
            let number = (versions.filter { $0.status != .draft }.map(\.versionNumber).max() ?? 0) + 1
            var version = KYCVersionRecord(
                id: KYCIdentifier.version.make(now: now), userID: userID, versionNumber: number, status: .draft,
                fields: fields, requiredFields: requiredFields, createdAt: now)
            try await store.kyc.insertVersion(version, on: sql)
            if let sentBack {
                // The user answers a change request: the documents come along, the reviewer asked for more, not for all again.
                version.documentsCount = try await store.kyc.copyDocuments(
                    from: sentBack.id, to: version.id, userID: userID, now: now, on: sql)
            }
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc.version.created", subjectType: "kyc_version", subjectID: version.id,
                    after: ["status": "draft", "user_id": .string(userID), "version_number": .int(Int64(number))],
                    requestID: requestID),
                at: now, on: sql)
            return version
        }
    }

    /// The version under the lock of its user, in the caller's environment;
    /// DALP-0419 otherwise.
    func lockedVersion(_ id: String, principal: Principal, on sql: any SQLDatabase, missing: APIError = versionNotFound)
        async throws -> (KYCUserRecord, KYCVersionRecord)
    {
        guard let peek = try await store.kyc.version(id: id, on: sql), peek.1 == principal.environment,
            let user = try await store.kyc.lockUser(id: peek.0.userID, on: sql),
            let version = try await store.kyc.version(id: id, on: sql)?.0
        else { throw missing }
        return (user, version)
    }

    /// `PATCH`: drafts only; a string sets a field, `null` clears it.
    public func editDraft(
        versionID: String, edit: [KYCFields.Name: String?], principal: Principal, requestID: String?, now: Date
    ) async throws -> KYCVersionRecord {
        try await store.database.transaction { sql in
            var (_, version) = try await lockedVersion(versionID, principal: principal, on: sql)
            if let refusal = KYCReviewMachine.draftRefusal(version.status) { throw refusal.apiError }
            switch KYCFieldRules.apply(edit, to: version.fields, now: now) {
            case .success(let fields): version.fields = fields
            case .failure(let failure): throw failure.apiError
            }
            try await store.kyc.saveVersion(version, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc.version.edited", subjectType: "kyc_version", subjectID: version.id,
                    // Which fields changed, never their values.
                    after: ["fields": .array(KYCFields.Name.allCases.filter { edit[$0] != nil }.map { .string($0.rawValue) })],
                    requestID: requestID),
                at: now, on: sql)
            return version
        }
    }

    /// Draft → `under_review`. An older version sent back with
    /// `changes_requested` becomes `superseded`; one still plainly under
    /// review makes this 409.
    public func submit(versionID: String, principal: Principal, requestID: String?, now: Date) async throws -> KYCVersionRecord {
        try await store.database.transaction { sql in
            var (user, version) = try await lockedVersion(versionID, principal: principal, on: sql)
            if let refusal = KYCReviewMachine.draftRefusal(version.status) { throw refusal.apiError }
            let issues = KYCFieldRules.submissionIssues(version.fields, now: now)
            guard issues.isEmpty else { throw APIError.validation(issues) }
            let others = try await store.kyc.allVersions(userID: user.id, on: sql).filter { $0.id != version.id && $0.status == .underReview }
            if let blocking = others.first(where: { $0.reviewOutcome != .changesRequested }) {
                throw APIError.conflict(
                    "Version \(blocking.versionNumber) (\(blocking.id)) is still under review; wait for its decision.",
                    code: "KYC_REVIEW_IN_PROGRESS")
            }
            for var old in others {
                old.status = .superseded
                try await store.kyc.saveVersion(old, on: sql)
                try await store.audit.append(
                    AuditEvent(
                        actor: principal.actor, action: "kyc.version.superseded", subjectType: "kyc_version", subjectID: old.id,
                        before: ["status": "under_review"], after: ["status": "superseded", "by": .string(version.id)],
                        requestID: requestID),
                    at: now, on: sql)
            }
            let digests = try await store.kyc.documentDigests(versionID: version.id, on: sql)
            version.status = .underReview
            version.submittedAt = now
            version.submittedBy = principal.actor
            version.contentHash = KYCContentHash.compute(fields: version.fields, documents: digests)
            try await store.kyc.saveVersion(version, on: sql)
            let settings = try await KYCSettings.load(store, on: sql)
            user.needsUpdate = false
            user.eventSequence += 1
            user.updatedAt = now
            try await store.kyc.saveProfile(user, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc.version.submitted", subjectType: "kyc_version", subjectID: version.id,
                    before: ["status": "draft"],
                    after: ["status": "under_review", "content_hash": .string(version.contentHash ?? "")], requestID: requestID),
                at: now, on: sql)
            try await KYCEvents.enqueue(
                .kycVersionSubmitted, user: user, version: version, previousStatus: .draft, settings: settings, store: store,
                now: now, on: sql)
            return version
        }
    }
}
