import Foundation
import ClearanceDomain
import ClearanceStore

/// What the console adds around a session decision: assignment, the
/// four-eyes first approval, and the audit entry for viewing personal data.
/// The decision itself is `SessionService.updateStatus`, the API's function.
struct ConsoleReviewService: Sendable {
    let store: Store
    let queue: ReviewQueueRepository
    let sessions: SessionService

    init(store: Store) {
        self.store = store
        self.queue = ReviewQueueRepository(database: store.database)
        self.sessions = SessionService(store: store)
    }

    /// Assigns the session to `principal` (or clears it); false when there is no such session.
    func assign(sessionID: String, toSelf: Bool, principal: Principal, requestID: String?, now: Date) async throws -> Bool {
        try await store.database.transaction { [store, queue] sql -> Bool in
            guard try await store.sessions.lock(id: sessionID, environment: principal.environment, on: sql) != nil else {
                return false
            }
            let previous = try await queue.assignee(sessionID: sessionID, on: sql)
            if toSelf {
                try await queue.assign(sessionID: sessionID, userID: principal.id, at: now, on: sql)
            } else {
                try await queue.unassign(sessionID: sessionID, on: sql)
            }
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: toSelf ? "session.assigned" : "session.unassigned",
                    subjectType: "session", subjectID: sessionID,
                    before: ["assignee": previous.map { .string("console:\($0.id)") } ?? .null],
                    after: ["assignee": toSelf ? .string(principal.actor) : .null], requestID: requestID),
                at: now, on: sql)
            return true
        }
    }

    /// Assigns a KYC version under review to `principal` (or clears it);
    /// false when the version is not in this environment.
    func assignKYC(versionID: String, toSelf: Bool, principal: Principal, requestID: String?, now: Date) async throws -> Bool {
        guard let (_, environment) = try await store.kyc.version(id: versionID), environment == principal.environment
        else { return false }
        try await store.database.transaction { [store, queue] sql in
            let previous = try await queue.kycAssignee(versionID: versionID, on: sql)
            try await queue.assignKYC(versionID: versionID, userID: toSelf ? principal.id : nil, at: now, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: toSelf ? "kyc_version.assigned" : "kyc_version.unassigned",
                    subjectType: "kyc_version", subjectID: versionID,
                    before: ["assignee": previous.map { .string("console:\($0)") } ?? .null],
                    after: ["assignee": toSelf ? .string(principal.actor) : .null], requestID: requestID),
                at: now, on: sql)
        }
        return true
    }

    /// Written before a page shows a session's decrypted personal data.
    func recordView(sessionID: String, principal: Principal, requestID: String?, now: Date) async throws {
        try await store.database.transaction { [store] sql in
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "session.personal_data_viewed", subjectType: "session",
                    subjectID: sessionID, requestID: requestID),
                at: now, on: sql)
        }
    }

    enum Outcome: Sendable {
        case changed(SessionStatus)
        case unchanged
        /// Four-eyes: this approval waits for a second reviewer.
        case awaitingSecondReviewer
        case notFound
    }

    /// A reviewer's decision. Under the workflow's `four_eyes` an approval
    /// needs two different people: the first is recorded, the second
    /// confirms and only then does `updateStatus` approve.
    func decide(
        sessionID: String, change: SessionService.ManualChange, principal: Principal, requestID: String?, now: Date
    ) async throws -> Outcome {
        guard let session = try await store.sessions.find(id: sessionID, environment: principal.environment) else {
            return .notFound
        }
        var change = change
        if change.newStatus == .approved,
            let workflow = try await store.workflows.find(id: session.workflowID, version: session.workflowVersion),
            workflow.settings.fourEyes
        {
            let first = try await queue.firstApproval(sessionID: sessionID)
            if let first, first.eventSequence == session.eventSequence {
                guard first.userID != principal.id else {
                    throw APIError(
                        .forbidden, code: "FOUR_EYES",
                        detail: "You gave the first approval; under four-eyes a different reviewer must confirm it.")
                }
                let note = "Four-eyes: first approval by \(first.userEmail)" + (first.comment.map { " (\($0))" } ?? "")
                change.comment = [note, change.comment].compactMap { $0 }.joined(separator: ". ")
            } else {
                return try await recordFirstApproval(session: session, change: change, principal: principal, requestID: requestID, now: now)
            }
        }
        guard let updated = try await sessions.updateStatus(
            id: sessionID, change: change, principal: principal, requestID: requestID, now: now)
        else { return .notFound }
        guard updated.status != session.status else { return .unchanged }
        try await store.database.transaction { [queue] sql in
            // A decided session leaves the queue; a later reopening starts afresh.
            try await queue.clearFirstApproval(sessionID: sessionID, on: sql)
            try await queue.unassign(sessionID: sessionID, on: sql)
        }
        return .changed(updated.status)
    }

    private func recordFirstApproval(
        session: SessionRecord, change: SessionService.ManualChange, principal: Principal, requestID: String?, now: Date
    ) async throws -> Outcome {
        try await store.database.transaction { [store, queue] sql -> Outcome in
            guard let locked = try await store.sessions.lock(id: session.id, environment: principal.environment, on: sql) else {
                return .notFound
            }
            // The same checks the API would make, so a first approval is never
            // recorded for a change that could not happen.
            switch SessionStateMachine.manual(
                current: locked.status, requested: .approved, sendEmail: change.sendEmail,
                hasRecipient: (change.emailAddress ?? locked.personal.contactDetails?["email"]?.stringValue) != nil)
            {
            case .unchanged: return .unchanged
            case .refused(let refusal): throw APIError.validation(path: refusal.field, refusal.message)
            case .change: break
            }
            try await queue.recordFirstApproval(
                sessionID: locked.id, userID: principal.id, comment: change.comment, eventSequence: locked.eventSequence,
                at: now, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "session.first_approval", subjectType: "session", subjectID: locked.id,
                    after: ["awaiting": "second reviewer"], comment: change.comment, requestID: requestID),
                at: now, on: sql)
            return .awaitingSecondReviewer
        }
    }
}
