import Foundation
import Testing
@testable import ClearanceDomain

@Suite("Session status machine")
struct SessionStateMachineTests {
    /// The spec's answer for every current status × target a person may ask
    /// for, written out by hand: U = unchanged (200, nothing), C = change,
    /// W = "Wrong Current Status", S = "same status" refusal.
    /// Columns: Approved, Declined, Resubmitted, In Review.
    static let table: [(SessionStatus, String)] = [
        (.notStarted, "WWWW"),
        (.inProgress, "WWWW"),
        (.inReview, "CCCU"),
        (.approved, "UCCC"),
        (.declined, "CUCC"),
        (.resubmitted, "CCSC"),
        (.awaitingUser, "WWWW"),
        (.expired, "WWWW"),
        (.abandoned, "CCCC"),
        (.kycExpired, "CCCC"),
    ]
    static let targets: [SessionStatus] = [.approved, .declined, .resubmitted, .inReview]

    @Test func theTableCoversEveryStatus() {
        #expect(Set(Self.table.map(\.0)) == Set(SessionStatus.allCases))
    }

    @Test(arguments: SessionStatus.allCases)
    func everyCurrentAndTargetHasTheSpecifiedAnswer(_ current: SessionStatus) throws {
        let row = try #require(Self.table.first { $0.0 == current }?.1)
        for (index, code) in row.enumerated() {
            let target = Self.targets[index]
            let outcome = SessionStateMachine.manual(current: current, requested: target, sendEmail: false, hasRecipient: false)
            switch code {
            case "U": #expect(outcome == .unchanged, "\(current) → \(target)")
            case "C": #expect(outcome == .change(to: target), "\(current) → \(target)")
            case "W": #expect(outcome == .refused(.wrongCurrentStatus(current)), "\(current) → \(target)")
            case "S": #expect(outcome == .refused(.sameStatus), "\(current) → \(target)")
            default: Issue.record("bad table code \(code)")
            }
        }
    }

    @Test(arguments: SessionStatus.allCases)
    func targetsAPersonMayNotSetAreRefusedAfterTheCurrentStatusCheck(_ current: SessionStatus) {
        for target in SessionStatus.allCases where !Self.targets.contains(target) {
            let outcome = SessionStateMachine.manual(current: current, requested: target, sendEmail: false, hasRecipient: true)
            if SessionStateMachine.manualSources.contains(current) {
                #expect(outcome == .refused(.targetNotAllowed(target)), "\(current) → \(target)")
            } else {
                // Check 1 comes first.
                #expect(outcome == .refused(.wrongCurrentStatus(current)), "\(current) → \(target)")
            }
        }
    }

    @Test(arguments: SessionStatus.allCases)
    func anEmailWithoutRecipientIsRefusedBeforeTheSameStatusCheck(_ current: SessionStatus) {
        for target in Self.targets {
            let without = SessionStateMachine.manual(current: current, requested: target, sendEmail: true, hasRecipient: false)
            let with = SessionStateMachine.manual(current: current, requested: target, sendEmail: true, hasRecipient: true)
            let plain = SessionStateMachine.manual(current: current, requested: target, sendEmail: false, hasRecipient: false)
            if SessionStateMachine.manualSources.contains(current) {
                #expect(without == .refused(.missingRecipient), "\(current) → \(target)")
            } else {
                #expect(without == .refused(.wrongCurrentStatus(current)))
            }
            #expect(with == plain, "a recipient changes nothing else: \(current) → \(target)")
        }
    }

    @Test func automaticMoves() {
        let cases: [(SessionStatus, AutomaticEvent, SessionStatus?)] = [
            (.notStarted, .activity, .inProgress),
            (.resubmitted, .activity, .inProgress),
            (.inProgress, .activity, nil),
            (.approved, .activity, nil),
            (.inProgress, .decided(.approved), .approved),
            (.inProgress, .decided(.declined), .declined),
            (.inProgress, .decided(.inReview), .inReview),
            (.inProgress, .decided(.expired), nil),
            (.notStarted, .decided(.approved), nil),
            (.notStarted, .expired, .expired),
            (.inProgress, .expired, .abandoned),
            (.resubmitted, .expired, .abandoned),
            (.inReview, .expired, nil),
            (.approved, .expired, nil),
            (.expired, .expired, nil),
            (.approved, .documentExpired, .kycExpired),
            (.declined, .documentExpired, nil),
            (.kycExpired, .documentExpired, nil),
        ]
        for (current, event, expected) in cases {
            #expect(SessionStateMachine.automatic(current: current, event: event) == expected, "\(current) on \(event)")
        }
        for status in [SessionStatus.expired, .abandoned, .kycExpired, .declined] {
            for event in [AutomaticEvent.activity, .expired, .decided(.approved)] {
                #expect(SessionStateMachine.automatic(current: status, event: event) == nil, "\(status) is not moved by \(event)")
            }
        }
    }

    @Test func labelsAndUpperSnakeBothParse() {
        for status in SessionStatus.allCases {
            #expect(SessionStatus(label: status.rawValue) == status)
            #expect(SessionStatus(label: status.upperSnake) == status)
        }
        #expect(SessionStatus.kycExpired.upperSnake == "KYC_EXPIRED")
        #expect(SessionStatus(label: "approved") == nil)
        #expect(SessionStatus(label: "KYC EXPIRED") == nil)
        #expect(NodeStatus(label: "NOT_FINISHED") == .notFinished)
    }
}

@Suite("Decision rule")
struct DecisionRuleTests {
    @Test func declinedBeatsReviewBeatsApproved() {
        #expect(DecisionRule.decide([.approved, .declined, .inReview], fourEyes: false) == .declined)
        #expect(DecisionRule.decide([.approved, .inReview], fourEyes: false) == .inReview)
        #expect(DecisionRule.decide([.approved, .approved], fourEyes: false) == .approved)
    }

    @Test func fourEyesSendsAnAutomaticApprovalToReview() {
        #expect(DecisionRule.decide([.approved], fourEyes: true) == .inReview)
        #expect(DecisionRule.decide([.declined], fourEyes: true) == .declined)
    }

    @Test func noDecisionUntilEveryNodeHasAResult() {
        for pending in [NodeStatus.notStarted, .inProgress, .notFinished, .expired] {
            #expect(DecisionRule.decide([.approved, pending], fourEyes: false) == nil, "\(pending)")
        }
        #expect(DecisionRule.decide([], fourEyes: false) == nil)
    }
}

@Suite("Resubmission planning")
struct ResubmissionPlannerTests {
    let userNodes = [
        SessionNodeState(nodeID: "feature_ocr", feature: .ocr, status: .approved),
        SessionNodeState(nodeID: "feature_liveness", feature: .liveness, status: .declined),
        SessionNodeState(nodeID: "feature_aml", feature: .aml, status: .inReview),
    ]
    let businessNodes = [
        SessionNodeState(nodeID: "feature_kyb_registry", feature: .kybRegistry, status: .declined),
        SessionNodeState(nodeID: "feature_kyb_key_people", feature: .kybKeyPeople, status: .inReview),
        SessionNodeState(nodeID: "feature_aml", feature: .aml, status: .declined),
    ]

    @Test func omittedSelectsEveryNodeNotApproved() throws {
        let plan = try ResubmissionPlanner.select(nodes: userNodes, requested: nil, kind: .user, attemptsUsed: 0, maxAttempts: 3).get()
        #expect(plan.map(\.nodeID) == ["feature_liveness", "feature_aml"])
        let business = try ResubmissionPlanner.select(nodes: businessNodes, requested: nil, kind: .business, attemptsUsed: 0, maxAttempts: 3).get()
        #expect(business.map(\.nodeID) == ["feature_aml"])
    }

    @Test func explicitNodesByObjectOrString() throws {
        let plan = try ResubmissionPlanner.select(
            nodes: userNodes, requested: [RequestedNode(text: "feature_ocr:ID_VERIFICATION"), RequestedNode(nodeID: "feature_aml")],
            kind: .user, attemptsUsed: 2, maxAttempts: 3
        ).get()
        #expect(plan.map(\.nodeID) == ["feature_ocr", "feature_aml"])
    }

    @Test func refusals() {
        func issues(_ requested: [RequestedNode]?, nodes: [SessionNodeState]? = nil, kind: WorkflowKind = .user, used: Int = 0) -> [FieldIssue] {
            switch ResubmissionPlanner.select(nodes: nodes ?? userNodes, requested: requested, kind: kind, attemptsUsed: used, maxAttempts: 3) {
            case .success: return []
            case .failure(let failure): return failure.issues
            }
        }
        #expect(issues([RequestedNode(nodeID: "feature_nfc")]).first?.path == "nodes_to_resubmit[0]")
        #expect(issues([RequestedNode(nodeID: "feature_ocr", feature: "LIVENESS")]).first?.message.contains("runs OCR") == true)
        #expect(issues([RequestedNode(nodeID: "feature_ocr", feature: "SELFIE")]).first?.message.contains("not a valid feature") == true)
        #expect(issues([RequestedNode(nodeID: "feature_kyb_registry")], nodes: businessNodes, kind: .business).first?.message.contains("KYB_REGISTRY") == true)
        #expect(issues([RequestedNode(nodeID: "feature_aml"), RequestedNode(nodeID: "feature_kyb_key_people")], nodes: businessNodes, kind: .business).first?.path == "nodes_to_resubmit[1]")
        #expect(issues([]).first?.path == "nodes_to_resubmit")
        let allApproved = userNodes.map { SessionNodeState(nodeID: $0.nodeID, feature: $0.feature, status: .approved) }
        #expect(issues(nil, nodes: allApproved).first?.message.contains("already approved") == true)
        #expect(issues(nil, used: 3).first?.message.contains("all 3 resubmission attempts") == true)
    }

    @Test func repeatingANoUserOnlySelectionWithin30sIsRateLimited() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let amlOnly = [userNodes[2]]
        #expect(ResubmissionPlanner.retryAfter(selection: amlOnly, lastNoUserResubmission: now.addingTimeInterval(-10), now: now) == 20)
        #expect(ResubmissionPlanner.retryAfter(selection: amlOnly, lastNoUserResubmission: now.addingTimeInterval(-30), now: now) == nil)
        #expect(ResubmissionPlanner.retryAfter(selection: amlOnly, lastNoUserResubmission: nil, now: now) == nil)
        #expect(ResubmissionPlanner.retryAfter(selection: userNodes, lastNoUserResubmission: now, now: now) == nil)
    }
}

@Suite("Workflow rules")
struct WorkflowRulesTests {
    func nodes(_ features: String...) -> [WorkflowNodeInput] { features.map { WorkflowNodeInput(feature: $0) } }

    func paths(_ kind: WorkflowKind, _ inputs: [WorkflowNodeInput]) -> [String] {
        switch WorkflowRules.validate(kind: kind, nodes: inputs) {
        case .success: []
        case .failure(let failure): failure.issues.map(\.path)
        }
    }

    @Test func defaultNodeIDsNumberRepeatsAndAliasesResolve() throws {
        let result = try WorkflowRules.validate(kind: .user, nodes: nodes("ID_VERIFICATION", "FACE", "FACE_MATCH", "OCR_BACK", "AML", "POA")).get()
        #expect(result.map(\.nodeID) == ["feature_ocr", "feature_liveness", "feature_face_match", "feature_ocr_2", "feature_aml", "feature_proof_of_address"])
        #expect(result.map(\.feature) == [.ocr, .liveness, .faceMatch, .ocr, .aml, .proofOfAddress])
    }

    @Test func orderingRules() {
        #expect(paths(.user, nodes("FACE_MATCH", "OCR")) == ["nodes[0].feature"])
        #expect(paths(.user, nodes("NFC")) == ["nodes[0].feature"])
        #expect(paths(.user, nodes("DATABASE_VALIDATION", "OCR")) == ["nodes[0].feature"])
        #expect(paths(.user, nodes("LIVENESS", "AML")) == ["nodes[1].feature"])
        #expect(paths(.user, nodes("DOCUMENT_AI", "AML")) == [])
        #expect(paths(.user, nodes("OCR", "KYB_REGISTRY")) == ["nodes[1].feature"])
        #expect(paths(.business, nodes("KYB_REGISTRY", "KYB_KEY_PEOPLE", "KYB_DOCUMENTS", "AML", "EMAIL")) == [])
        #expect(paths(.business, nodes("AML", "KYB_REGISTRY")) == ["nodes[0].feature", "nodes[0].feature"], "AML needs an earlier source, and KYB_REGISTRY must come first")
        #expect(paths(.business, nodes("KYB_REGISTRY", "OCR")) == ["nodes[1].feature"])
        #expect(paths(.business, nodes("KYB_REGISTRY", "LIVENESS")) == ["nodes[1].feature"])
        #expect(paths(.user, nodes("SELFIE")) == ["nodes[0].feature"])
        #expect(paths(.user, []) == ["nodes"])
    }

    @Test func explicitNodeIDsMustBeValidAndUnique() {
        #expect(paths(.user, [WorkflowNodeInput(nodeID: "a", feature: "OCR"), WorkflowNodeInput(nodeID: "a", feature: "LIVENESS")]) == ["nodes[1].node_id"])
        #expect(paths(.user, [WorkflowNodeInput(nodeID: "has space", feature: "OCR")]) == ["nodes[0].node_id"])
        #expect(paths(.user, [WorkflowNodeInput(feature: "OCR", settings: "x")]) == ["nodes[0].settings"])
    }
}
