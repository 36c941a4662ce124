import Crypto
import Foundation
import SQLKit
import ClearanceDomain
import ClearanceStore

/// Everything that changes a verification session. Every status change,
/// manual or automatic, goes through `transition`, inside the caller's
/// transaction, after a row lock taken by `lock`: so concurrent changes to
/// one session serialize and each is decided on the state it will change.
public struct SessionService: Sendable {
    let store: Store
    /// Signs the emails to the person being verified.
    let emailSender: EmailSender
    /// Base of the verification links in emails.
    let publicURL: String

    /// The sender and link base default to the store's (the server's configuration).
    public init(store: Store, emailSender: EmailSender? = nil, publicURL: String? = nil) {
        self.store = store
        self.emailSender = emailSender ?? store.emailSender
        self.publicURL = publicURL ?? store.emailLinkBase
    }

    // MARK: Create

    public struct NewSession: Sendable {
        public var workflowID: String
        public var vendorData: String?
        public var callback: String?
        public var callbackMethod: String?
        public var metadata: JSONValue?
        public var language: String?
        public var personal: SessionPersonalData
        public var country: String?
        public var sandboxScenario: SandboxScenario?

        public init(
            workflowID: String, vendorData: String? = nil, callback: String? = nil, callbackMethod: String? = nil,
            metadata: JSONValue? = nil, language: String? = nil, personal: SessionPersonalData = .init(),
            country: String? = nil, sandboxScenario: SandboxScenario? = nil
        ) {
            self.workflowID = workflowID
            self.vendorData = vendorData
            self.callback = callback
            self.callbackMethod = callbackMethod
            self.metadata = metadata
            self.language = language
            self.personal = personal
            self.country = country
            self.sandboxScenario = sandboxScenario
        }
    }

    /// Creates a session, or answers the unfinished one with the same
    /// `vendor_data` on the same workflow version (its callback and metadata
    /// updated). A sandbox scenario runs the new session to its outcome in
    /// the same transaction.
    public func create(_ new: NewSession, principal: Principal, requestID: String?, now: Date) async throws -> SessionRecord {
        guard let workflow = try await store.workflows.find(id: new.workflowID, version: nil) else {
            throw APIError.validation(path: "workflow_id", "No workflow with this id.")
        }
        if let scenario = new.sandboxScenario, scenario.results(for: workflow.nodes) == nil, let target = scenario.target {
            throw APIError.validation(
                path: "sandbox_scenario",
                "Scenario '\(scenario.rawValue)' needs a \(target.feature.rawValue) node, which this workflow does not have.")
        }
        return try await store.database.transaction { sql -> SessionRecord in
            if let vendorData = new.vendorData, new.sandboxScenario == nil,
                var reusable = try await store.sessions.findReusable(
                    environment: principal.environment, vendorData: vendorData, workflowID: workflow.id,
                    workflowVersion: workflow.version, on: sql)
            {
                reusable.callback = new.callback ?? reusable.callback
                reusable.callbackMethod = new.callbackMethod ?? reusable.callbackMethod
                reusable.metadata = new.metadata ?? reusable.metadata
                reusable.updatedAt = now
                try await store.sessions.save(&reusable, on: sql)
                try await store.audit.append(
                    AuditEvent(
                        actor: principal.actor, action: "session.reused", subjectType: "session", subjectID: reusable.id,
                        after: ["status": .string(reusable.status.rawValue)], requestID: requestID),
                    at: now, on: sql)
                return reusable
            }
            let id = Identifier.random()
            var session = SessionRecord(
                id: id, number: try await store.sessions.nextSessionNumber(on: sql), environment: principal.environment,
                kind: workflow.kind, workflowID: workflow.id, workflowVersion: workflow.version, status: .notStarted,
                vendorData: new.vendorData, callback: new.callback, callbackMethod: new.callbackMethod,
                metadata: new.metadata, language: new.language, token: Self.newToken(), country: new.country,
                personal: new.personal, sandboxScenario: new.sandboxScenario?.rawValue,
                expiresAt: now.addingTimeInterval(Double(workflow.settings.sessionTTLHours) * 3600), createdAt: now,
                updatedAt: now)
            let nodes = workflow.nodes.enumerated().map { index, node in
                SessionNodeRecord(
                    sessionID: id, nodeID: node.nodeID, position: index, feature: node.feature, status: .notStarted,
                    updatedAt: now)
            }
            try await store.sessions.insert(&session, nodes: nodes, searchTerms: Self.searchTerms(session.personal), on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "session.created", subjectType: "session", subjectID: id,
                    after: [
                        "status": .string(session.status.rawValue), "workflow_id": .string(workflow.id),
                        "workflow_version": .int(Int64(workflow.version)), "environment": .string(principal.environment.rawValue),
                    ],
                    requestID: requestID),
                at: now, on: sql)
            if let scenario = new.sandboxScenario {
                try await runSandbox(scenario, session: &session, nodes: nodes, workflow: workflow, requestID: requestID, now: now, on: sql)
            }
            return session
        }
    }

    static func newToken() -> String {
        var rng = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<24).map { _ in UInt8.random(in: .min ... .max, using: &rng) })
    }

    /// Names and email, for exact-match search through the blind index.
    static func searchTerms(_ personal: SessionPersonalData, extra: [String] = []) -> [String] {
        var terms = extra
        let first = personal.expectedDetails?["first_name"]?.stringValue
        let last = personal.expectedDetails?["last_name"]?.stringValue
        terms += [first, last].compactMap { $0 }
        if let first, let last { terms.append("\(first) \(last)") }
        if let email = personal.contactDetails?["email"]?.stringValue { terms.append(email) }
        return terms
    }

    // MARK: The one status-change function

    /// Writes the new status, a review, the audit entry, the
    /// `status.updated` outbox rows and the email (if any), in the caller's
    /// transaction.
    func transition(
        _ session: inout SessionRecord, to newStatus: SessionStatus, actor: String, comment: String?,
        requestID: String?, now: Date, email: SessionEmailPlan? = nil, on sql: any SQLDatabase
    ) async throws {
        let previous = session.status
        session.status = newStatus
        session.updatedAt = now
        session.eventSequence += 1
        try await store.sessions.save(&session, on: sql)
        try await store.sessions.insertReview(
            SessionReviewRecord(
                id: Identifier.timeOrdered(at: now), sessionID: session.id, actor: actor, previousStatus: previous,
                newStatus: newStatus, comment: comment, sequence: session.eventSequence, createdAt: now),
            on: sql)
        try await store.audit.append(
            AuditEvent(
                actor: actor, action: "session.status_changed", subjectType: "session", subjectID: session.id,
                before: ["status": .string(previous.rawValue)], after: ["status": .string(newStatus.rawValue)],
                comment: comment, requestID: requestID),
            at: now, on: sql)
        try await WebhookPayloads.enqueueSessionEvent(
            .statusUpdated, session: session, previousStatus: previous, store: store, now: now, on: sql)
        if let email { try await queueEmail(email, session: session, now: now, on: sql) }
    }

    /// Runs the decision rule once every node has a result.
    func decideIfComplete(
        _ session: inout SessionRecord, nodes: [SessionNodeRecord], workflow: Workflow, actor: String, requestID: String?,
        now: Date, on sql: any SQLDatabase
    ) async throws {
        guard let outcome = DecisionRule.decide(nodes.map(\.status), fourEyes: workflow.settings.fourEyes),
            let next = SessionStateMachine.automatic(current: session.status, event: .decided(outcome))
        else { return }
        let email = try automaticEmail(for: next, session: session, nodes: nodes)
        try await transition(&session, to: next, actor: actor, comment: nil, requestID: requestID, now: now, email: email, on: sql)
    }

    // MARK: Manual status change

    public struct ManualChange: Sendable {
        public var newStatus: SessionStatus
        public var comment: String?
        public var sendEmail: Bool
        public var emailAddress: String?
        public var emailLanguage: String
        public var nodesToResubmit: [RequestedNode]?
        public var emailPreviewToken: String?

        public init(
            newStatus: SessionStatus, comment: String? = nil, sendEmail: Bool = false, emailAddress: String? = nil,
            emailLanguage: String = "en", nodesToResubmit: [RequestedNode]? = nil, emailPreviewToken: String? = nil
        ) {
            self.newStatus = newStatus
            self.comment = comment
            self.sendEmail = sendEmail
            self.emailAddress = emailAddress
            self.emailLanguage = emailLanguage
            self.nodesToResubmit = nodesToResubmit
            self.emailPreviewToken = emailPreviewToken
        }
    }

    /// `PATCH …/update-status/`: every check in the spec's order, then one
    /// transition. Nil when the session does not exist in this environment.
    public func updateStatus(
        id: String, change: ManualChange, principal: Principal, requestID: String?, now: Date
    ) async throws -> SessionRecord? {
        try await store.database.transaction { sql -> SessionRecord? in
            guard var session = try await store.sessions.lock(id: id, environment: principal.environment, on: sql) else {
                return nil
            }
            // Nodes (for a verified address and the first name) only when an email is asked for.
            let currentNodes = change.sendEmail ? try await store.sessions.nodes(sessionID: session.id, on: sql) : []
            let recipient = Self.recipient(session, nodes: currentNodes, requested: change.emailAddress)
            switch SessionStateMachine.manual(
                current: session.status, requested: change.newStatus, sendEmail: change.sendEmail,
                hasRecipient: recipient != nil)
            {
            case .unchanged:
                return session
            case .refused(let refusal):
                throw APIError.validation(path: refusal.field, refusal.message)
            case .change:
                break
            }
            var resetNodes: [SessionNodeRecord] = []
            var resubmitting: [Feature] = []
            if change.newStatus == .resubmitted {
                guard let workflow = try await store.workflows.find(id: session.workflowID, version: session.workflowVersion, on: sql)
                else { throw StoreError.corrupt("session \(session.id) names a missing workflow version") }
                let nodes = try await store.sessions.nodes(sessionID: session.id, on: sql)
                let selection: [SessionNodeState]
                switch ResubmissionPlanner.select(
                    nodes: nodes.map(\.state), requested: change.nodesToResubmit, kind: session.kind,
                    attemptsUsed: session.resubmit.attemptsUsed, maxAttempts: workflow.settings.maxResubmitAttempts)
                {
                case .success(let selected): selection = selected
                case .failure(let failure): throw failure.apiError
                }
                if let wait = ResubmissionPlanner.retryAfter(
                    selection: selection, lastNoUserResubmission: session.lastNoUserResubmitAt, now: now)
                {
                    throw APIError(
                        .tooManyRequests, code: "RESUBMISSION_TOO_SOON",
                        detail: "These checks were re-run less than 30 seconds ago; retry after \(wait) s.",
                        headers: [.retryAfter: String(wait)])
                }
                let selectedIDs = Set(selection.map(\.nodeID))
                resubmitting = selection.map(\.feature)
                for var node in nodes where selectedIDs.contains(node.nodeID) {
                    // Checks that need no person re-run at once; the others wait for the person.
                    node.status = node.feature.needsNoUser ? .inProgress : .notStarted
                    node.data = .object([:])
                    node.warnings = []
                    node.updatedAt = now
                    resetNodes.append(node)
                }
                session.resubmit = ResubmitInfo(nodes: selection.map(\.nodeID), attemptsUsed: session.resubmit.attemptsUsed + 1)
                if selection.allSatisfy(\.feature.needsNoUser) { session.lastNoUserResubmitAt = now }
            }
            var email: SessionEmailPlan?
            // A resubmission of only checks that run without the person asks nothing of them: no email.
            let nothingToAsk = change.newStatus == .resubmitted && EmailSteps.keys(for: resubmitting).isEmpty
            if change.sendEmail, !nothingToAsk, let kind = Self.decisionKind(change.newStatus) {
                email = try planEmail(
                    kind: kind, session: session, nodes: currentNodes, requestedAddress: change.emailAddress,
                    language: change.emailLanguage, resubmitting: resubmitting)
            }
            if let token = change.emailPreviewToken {
                // Check 5: the token must be for exactly the email this change sends now.
                guard let email, email.recipient != nil,
                    EmailPreviewToken.matches(token, message: email.message, kind: email.kind, now: now, key: previewKey)
                else {
                    throw APIError.conflict(
                        "The email preview token is stale or does not match what would be sent; preview again.",
                        code: "EMAIL_PREVIEW_MISMATCH")
                }
            }
            for node in resetNodes { try await store.sessions.saveNode(node, on: sql) }
            try await transition(
                &session, to: change.newStatus, actor: principal.actor, comment: change.comment, requestID: requestID,
                now: now, email: email, on: sql)
            return session
        }
    }

    // MARK: Node results

    public struct NodeReport: Sendable {
        public var status: NodeStatus
        public var comment: String?
        public var data: JSONValue?
        public var warnings: [SessionWarning]?

        public init(status: NodeStatus, comment: String? = nil, data: JSONValue? = nil, warnings: [SessionWarning]? = nil) {
            self.status = status
            self.comment = comment
            self.data = data
            self.warnings = warnings
        }
    }

    /// `PATCH …/features/{node_id}/update-status/`. Nil when the session does
    /// not exist in this environment.
    public func reportNode(
        sessionID: String, nodeID: String, report: NodeReport, principal: Principal, requestID: String?, now: Date
    ) async throws -> SessionRecord? {
        try await store.database.transaction { sql -> SessionRecord? in
            guard var session = try await store.sessions.lock(id: sessionID, environment: principal.environment, on: sql)
            else { return nil }
            let effect = SessionStateMachine.nodeReportEffect(current: session.status)
            if effect == .refused {
                throw APIError.validation(path: "status", "The session is \(session.status.rawValue) and takes no more results.")
            }
            var nodes = try await store.sessions.nodes(sessionID: session.id, on: sql)
            guard let index = nodes.firstIndex(where: { $0.nodeID == nodeID }) else {
                throw APIError.validation(path: "node_id", "'\(nodeID)' is not a node of this session's workflow.")
            }
            var node = nodes[index]
            let previous = node.status
            node.status = report.status
            if let data = report.data { node.data = Self.merge(node.data, data) }
            if let warnings = report.warnings { node.warnings = warnings }
            node.updatedAt = now
            nodes[index] = node
            try await store.sessions.saveNode(node, on: sql)
            applyDocumentFacts(node, to: &session)
            if node.feature == .ocr, let data = report.data {
                let names = [data["first_name"]?.stringValue, data["last_name"]?.stringValue].compactMap { $0 }
                if !names.isEmpty {
                    try await store.sessions.updateSearchTerms(
                        id: session.id, terms: Self.searchTerms(session.personal, extra: names + [names.joined(separator: " ")]), on: sql)
                }
            }
            session.eventSequence += 1  // data.updated
            session.updatedAt = now
            try await store.sessions.save(&session, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "session.node_updated", subjectType: "session", subjectID: session.id,
                    before: ["node_id": .string(nodeID), "status": .string(previous.rawValue)],
                    after: ["node_id": .string(nodeID), "status": .string(report.status.rawValue)],
                    comment: report.comment, requestID: requestID),
                at: now, on: sql)
            try await WebhookPayloads.enqueueSessionEvent(
                .dataUpdated, session: session, previousStatus: nil, store: store, now: now, on: sql)
            if effect == .progress {
                if let next = SessionStateMachine.automatic(current: session.status, event: .activity) {
                    try await transition(&session, to: next, actor: principal.actor, comment: nil, requestID: requestID, now: now, on: sql)
                }
                guard let workflow = try await store.workflows.find(id: session.workflowID, version: session.workflowVersion, on: sql)
                else { throw StoreError.corrupt("session \(session.id) names a missing workflow version") }
                try await decideIfComplete(&session, nodes: nodes, workflow: workflow, actor: principal.actor, requestID: requestID, now: now, on: sql)
            }
            return session
        }
    }

    /// The document's country and expiry, read from an OCR result.
    func applyDocumentFacts(_ node: SessionNodeRecord, to session: inout SessionRecord) {
        guard node.feature == .ocr else { return }
        if let country = node.data["issuing_state"]?.stringValue ?? node.data["document_country"]?.stringValue,
            country.count == 3, country.allSatisfy({ $0.isASCII && $0.isUppercase })
        {
            session.country = country
        }
        if let expiry = node.data["expiration_date"]?.stringValue, let date = Timestamp.parse(expiry) {
            session.documentExpiresAt = date
        }
    }

    /// Shallow merge: keys in `patch` replace those in `base`.
    static func merge(_ base: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(var members) = base, case .object(let changes) = patch else { return patch }
        for (key, value) in changes { members[key] = value }
        return .object(members)
    }

    // MARK: Sandbox

    func runSandbox(
        _ scenario: SandboxScenario, session: inout SessionRecord, nodes: [SessionNodeRecord], workflow: Workflow,
        requestID: String?, now: Date, on sql: any SQLDatabase
    ) async throws {
        let actor = "system:sandbox"
        try await transition(&session, to: .inProgress, actor: actor, comment: "sandbox scenario \(scenario.rawValue)", requestID: requestID, now: now, on: sql)
        guard let results = scenario.results(for: workflow.nodes) else { return }
        var updated: [SessionNodeRecord] = []
        for var node in nodes {
            guard let result = results.first(where: { $0.nodeID == node.nodeID }) else { continue }
            node.status = result.status
            node.warnings = result.warnings
            node.data = SandboxData.data(for: node.feature, scenario: scenario, personal: session.personal, now: now)
            node.updatedAt = now
            try await store.sessions.saveNode(node, on: sql)
            applyDocumentFacts(node, to: &session)
            updated.append(node)
        }
        try await decideIfComplete(&session, nodes: updated, workflow: workflow, actor: actor, requestID: requestID, now: now, on: sql)
    }

    // MARK: Delete

    /// Soft delete with crypto-shredding. False when there is no such session.
    public func delete(id: String, principal: Principal, requestID: String?, now: Date) async throws -> Bool {
        try await store.database.transaction { sql -> Bool in
            guard let session = try await store.sessions.lock(id: id, environment: principal.environment, on: sql) else {
                return false
            }
            try await store.sessions.softDelete(session, at: now, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "session.deleted", subjectType: "session", subjectID: id,
                    before: ["status": .string(session.status.rawValue)], after: ["deleted": true], requestID: requestID),
                at: now, on: sql)
            return true
        }
    }

    // MARK: Sweep

    /// Applies the automatic moves that time causes (`Expired`, `Abandoned`,
    /// `Kyc Expired`) to up to `limit` due sessions; answers how many moved.
    /// Each candidate is re-read under its lock, so a session changed by
    /// someone else in between is left alone.
    public func sweep(now: Date, limit: Int = 200) async throws -> Int {
        try await sweepBatch(now: now, limit: limit).moved
    }

    public struct SweepBatch: Sendable {
        /// Sessions moved to their next status.
        public var moved = 0
        /// Approved sessions whose workflow version allows expired documents,
        /// marked so that no later batch picks them again.
        public var waived = 0
    }

    /// One batch of `sweep`. A batch that moved or waived something may have
    /// more behind it; the caller asks again until one does neither.
    public func sweepBatch(now: Date, limit: Int = 200) async throws -> SweepBatch {
        try await store.database.transaction { sql -> SweepBatch in
            var batch = SweepBatch()
            for candidate in try await store.sessions.dueForSweep(now: now, limit: limit, on: sql) {
                guard var session = try await store.sessions.lock(id: candidate.id, environment: candidate.environment, on: sql)
                else { continue }
                let event: AutomaticEvent
                switch candidate.reason {
                case .expired:
                    guard session.expiresAt <= now else { continue }
                    event = .expired
                case .documentExpired:
                    guard let expiry = session.documentExpiresAt, expiry <= now,
                        let workflow = try await store.workflows.find(id: session.workflowID, version: session.workflowVersion, on: sql)
                    else { continue }
                    if workflow.settings.allowExpiredDocuments {
                        // Left as it is, and never offered again: left in the
                        // queue, enough of these would fill every batch.
                        try await store.sessions.waiveDocumentExpiry(id: session.id, on: sql)
                        batch.waived += 1
                        continue
                    }
                    event = .documentExpired
                }
                guard let next = SessionStateMachine.automatic(current: session.status, event: event) else { continue }
                try await transition(&session, to: next, actor: "system:sweep", comment: nil, requestID: nil, now: now, on: sql)
                batch.moved += 1
            }
            return batch
        }
    }
}
