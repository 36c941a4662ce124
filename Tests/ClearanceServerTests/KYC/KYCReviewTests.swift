import Foundation
import HTTPTypes
import SQLKit
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

/// Events are written only for a subscribed destination: one for every
/// KYC event (at a public address that cannot be reached from here).
func subscribeToKYCEvents(_ server: TestServer) async throws {
    _ = try await WebhookDestinationService(store: server.store).create(
        label: "kyc", url: "https://93.184.216.34/kyc-hook", enabled: true,
        events: WebhookEventType.allCases.filter { $0.rawValue.hasPrefix("kyc.") }, principal: TestServer.principal(.live),
        requestID: nil, now: Date())
}

func eventTypes(_ server: TestServer) async throws -> [String] {
    try await server.store.database.read { sql in
        try await sql.raw("SELECT webhook_type FROM webhook_events ORDER BY created_at, sequence").all()
            .map { try $0.decode(column: "webhook_type", as: String.self) }
    }
}

func auditActions(_ server: TestServer, subject: String) async throws -> [String] {
    try await server.store.audit.entries(subjectID: subject, limit: 100, offset: 0).items.map(\.action)
}

@Suite("KYC reviewer actions")
struct KYCReviewTests {
    @Test func approveMovesVersionAndProfileAndAnswersTheReviewMetadata() async throws {
        try await TestServer.with { server in
            try await subscribeToKYCEvents(server)
            try await server.kyc { kyc in
                let (userID, versionID) = try await kyc.underReview()
                let before = try await kyc.profile(userID)
                #expect(before["status"] as? String == "incomplete")
                #expect((before["latestVersion"] as? [String: Any])?["status"] as? String == "under_review")

                let answer = try await kyc.call(
                    .post, "/api/v2/kyc-profile-versions/\(versionID)/approvals",
                    #"{"reviewNotes":"ID and proof of address verified against the form fields."}"#)
                #expect(answer.status == .ok)
                #expect(answer.data["id"] as? String == versionID)
                #expect(answer.data["status"] as? String == "approved")
                #expect(answer.data["reviewOutcome"] as? String == "approved")
                #expect(answer.data["reviewNotes"] as? String == "ID and proof of address verified against the form fields.")
                #expect((answer.data["reviewedBy"] as? String)?.hasPrefix("key:") == true)
                let reviewedAt = try #require(answer.data["reviewedAt"] as? String)
                #expect(reviewedAt.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)

                let profile = try await kyc.profile(userID)
                #expect(profile["status"] as? String == "approved")
                #expect(profile["firstName"] as? String == "Ada")
                #expect(profile["lastName"] as? String == "Lovelace")
                #expect(profile["needsUpdate"] as? Bool == false)
                let approved = try #require(profile["approvedVersion"] as? [String: Any])
                #expect(approved["id"] as? String == versionID)
                #expect((approved["contentHash"] as? String)?.count == 66)
                #expect(approved["reviewedAt"] as? String == reviewedAt)
                #expect(try await auditActions(server, subject: versionID) == [
                    "kyc.version.created", "kyc.version.submitted", "kyc.version.approved",
                ])
            }
            #expect(try await eventTypes(server) == ["kyc.version.submitted", "kyc.version.approved"])
        }
    }

    @Test func rejectWithoutEarlierApprovalLeavesTheProfileIncompleteAndWithOneKeepsItApproved() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let (userID, first) = try await kyc.underReview()
                let rejected = try await kyc.call(
                    .post, "/api/v2/kyc-profile-versions/\(first)/rejections",
                    #"{"rejectionReason":"  Proof of address document is expired.  ","reviewNotes":"Utility bill dated 14 months ago."}"#)
                #expect(rejected.status == .ok, "\(rejected.json)")
                #expect(rejected.data["status"] as? String == "rejected")
                #expect(rejected.data["reviewOutcome"] as? String == "rejected")
                #expect(rejected.data["rejectionReason"] as? String == "Proof of address document is expired.")
                #expect(try await kyc.profile(userID)["status"] as? String == "incomplete")

                // A second version is approved, a third rejected: the approval stands.
                let second = try #require(try await kyc.createDraft(userID).data["id"] as? String)
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(second)/submissions").status == .ok)
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(second)/approvals").status == .ok)
                let third = try #require(try await kyc.createDraft(userID).data["id"] as? String)
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(third)/submissions").status == .ok)
                #expect(try await kyc.call(
                    .post, "/api/v2/kyc-profile-versions/\(third)/rejections", #"{"rejectionReason":"Name does not match ID."}"#
                ).status == .ok)
                let profile = try await kyc.profile(userID)
                #expect(profile["status"] as? String == "approved")
                #expect((profile["approvedVersion"] as? [String: Any])?["id"] as? String == second)
                #expect((profile["latestVersion"] as? [String: Any])?["status"] as? String == "rejected")
            }
        }
    }

    @Test func requestUpdateThenNewDraftFromTheSentBackDataThenApprovalFulfils() async throws {
        try await TestServer.with { server in
            try await subscribeToKYCEvents(server)
            try await server.kyc { kyc in
                let (userID, versionID) = try await kyc.underReview()
                // A millisecond a Double fraction would lose on the way in or out.
                let due = "2099-06-01T00:00:00.847Z"
                let answer = try await kyc.call(
                    .post, "/api/v2/kyc-profile-versions/\(versionID)/update-requests",
                    kyc.json(["reason": "Add a proof of address document from the last 3 months.", "requiredFields": ["proof_of_address", "dob"], "dueAt": due]))
                #expect(answer.status == .ok, "\(answer.json)")
                let version = try #require(answer.data["version"] as? [String: Any])
                #expect(version["id"] as? String == versionID && version["status"] as? String == "under_review")
                let request = try #require(answer.data["actionRequest"] as? [String: Any])
                let requestID = try #require(request["id"] as? String)
                #expect(requestID.hasPrefix("kycar_"))
                #expect(request["status"] as? String == "open")
                #expect(request["requiredFields"] as? [String] == ["proof_of_address", "dob"])
                #expect(request["dueAt"] as? String == due)
                #expect(request["requestedAt"] is String)

                let sentBack = try await kyc.version(versionID)
                #expect(sentBack["reviewOutcome"] as? String == "changes_requested")
                #expect(sentBack["reviewNotes"] as? String == "Add a proof of address document from the last 3 months.")
                var profile = try await kyc.profile(userID)
                #expect(profile["needsUpdate"] as? Bool == true)
                #expect((profile["openActionRequests"] as? [[String: Any]])?.map { $0["id"] as? String } == [requestID])

                // The new draft starts from the sent-back data; only the changed field is sent.
                let draft = try await kyc.call(.post, "/api/v2/kyc-profiles/\(userID)/versions", "{}")
                #expect(draft.status == .created)
                let draftID = try #require(draft.data["id"] as? String)
                #expect((draft.data["data"] as? [String: Any])?["nationalId"] as? String == "QQ123456C")
                #expect(draft.data["requiredFields"] as? [String] == ["proof_of_address", "dob"])
                #expect(draft.data["versionNumber"] as? Int == 2)
                #expect(try await kyc.call(.patch, "/api/v2/kyc-profile-versions/\(draftID)", #"{"dob":"1990-12-11"}"#).status == .ok)
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(draftID)/submissions").status == .ok)
                #expect(try await kyc.version(versionID)["status"] as? String == "superseded")
                profile = try await kyc.profile(userID)
                #expect(profile["needsUpdate"] as? Bool == false)

                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(draftID)/approvals", "{}").status == .ok)
                let fulfilled = try await kyc.call(.get, "/api/v2/kyc-action-requests/\(requestID)")
                #expect(fulfilled.data["status"] as? String == "fulfilled")
                #expect(fulfilled.data["resolvedAt"] is String)
                let list = try await kyc.call(.get, "/api/v2/kyc-action-requests?status=fulfilled&userId=\(userID)")
                #expect(list.data["total"] as? Int == 1)
            }
            #expect(try await eventTypes(server) == [
                "kyc.version.submitted", "kyc.version.changes_requested", "kyc.version.submitted", "kyc.version.approved",
            ])
        }
    }

    @Test func aSecondUpdateRequestCancelsTheFirst() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let (userID, versionID) = try await kyc.underReview()
                let path = "/api/v2/kyc-profile-versions/\(versionID)/update-requests"
                let first = try await kyc.call(.post, path, #"{"reason":"Please add your passport."}"#)
                let second = try await kyc.call(.post, path, #"{"reason":"Please add your passport and a bill.","reviewNotes":"internal"}"#)
                #expect(second.status == .ok)
                let firstID = try #require((first.data["actionRequest"] as? [String: Any])?["id"] as? String)
                #expect(try await kyc.call(.get, "/api/v2/kyc-action-requests/\(firstID)").data["status"] as? String == "cancelled")
                #expect((try await kyc.profile(userID)["openActionRequests"] as? [Any])?.count == 1)
                #expect(try await kyc.version(versionID)["reviewNotes"] as? String == "internal")
            }
        }
    }

    /// Actions on drafts, approved and rejected versions: the action's own
    /// DALP id, 409, nothing written.
    @Test func actionsOnVersionsNotUnderReviewAre409AndChangeNothing() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let draftUser = try await kyc.createUser(email: "d@example.com")
                let draft = try #require(try await kyc.createDraft(draftUser).data["id"] as? String)
                let (_, approved) = try await kyc.underReview(email: "a@example.com")
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(approved)/approvals").status == .ok)
                var other = KYCCaller.person
                other["nationalId"] = "OTHER-1"
                let (_, rejected) = try await kyc.underReview(data: other, email: "r@example.com")
                #expect(try await kyc.call(
                    .post, "/api/v2/kyc-profile-versions/\(rejected)/rejections", #"{"rejectionReason":"Not acceptable at all."}"#
                ).status == .ok)

                let snapshot = try await server.kycSnapshot()
                for version in [draft, approved, rejected] {
                    for (route, body, id) in [
                        ("approvals", "{}", "DALP-0388"),
                        ("rejections", #"{"rejectionReason":"Long enough reason."}"#, "DALP-0390"),
                        ("update-requests", #"{"reason":"Long enough reason."}"#, "DALP-0415"),
                    ] {
                        let answer = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(version)/\(route)", body)
                        #expect(answer.status == .conflict, "\(route) on \(version)")
                        #expect(answer.dalpID == id)
                        #expect(answer.json["status"] as? Int == 409)
                        #expect(answer.json["code"] as? String == "KYC_VERSION_NOT_UNDER_REVIEW")
                        #expect(answer.data["requestId"] is String && answer.data["retryable"] as? Bool == false)
                    }
                }
                #expect(try await server.kycSnapshot() == snapshot)
            }
        }
    }

    @Test func missingMalformedAndForeignIds() async throws {
        try await TestServer.with { server in
            let sandboxKey = try await server.roleKey([.claimIssuer], environment: .sandbox)
            try await server.kyc { kyc in
                let (userID, versionID) = try await kyc.underReview()
                let snapshot = try await server.kycSnapshot()
                let missing = KYCIdentifier.version.make()
                let body = #"{"rejectionReason":"Long enough reason.","reason":"Long enough reason."}"#
                for (route, missingID) in [("approvals", "DALP-0388"), ("rejections", "DALP-0390"), ("update-requests", "DALP-0419")] {
                    var answer = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(missing)/\(route)", body)
                    #expect(answer.status == .notFound && answer.dalpID == missingID, "\(route)")
                    for malformed in ["abc", userID, "kycv_123", KYCIdentifier.actionRequest.make()] {
                        answer = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(malformed)/\(route)", body)
                        #expect(answer.status == .notFound && answer.dalpID == "DALP-0419", "\(route) \(malformed)")
                    }
                    // Another environment's key sees no such version.
                    answer = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(versionID)/\(route)", body, key: sandboxKey)
                    #expect(answer.status == .notFound && answer.dalpID == missingID, "\(route) from sandbox")
                }
                for path in ["/api/v2/kyc-profile-versions/\(missing)", "/api/v2/kyc-profile-versions/nope"] {
                    #expect(try await kyc.call(.get, path).dalpID == "DALP-0419")
                    #expect(try await kyc.call(.patch, path, #"{"dob":"1990-01-01"}"#).dalpID == "DALP-0419")
                    #expect(try await kyc.call(.post, path + "/submissions").dalpID == "DALP-0419")
                }
                #expect(try await kyc.call(.get, "/api/v2/kyc-profiles/\(userID)", key: sandboxKey).status == .notFound)
                #expect(try await kyc.call(.get, "/api/v2/kyc-profiles/\(KYCIdentifier.user.make())").status == .notFound)
                #expect(try await server.kycSnapshot() == snapshot)
            }
        }
    }

    /// The profile write fails after the version write: the transaction
    /// takes every change with it, for each action.
    @Test(arguments: KYCReviewAction.allCases)
    func aFailureBetweenVersionAndProfileUpdateChangesNothing(_ action: KYCReviewAction) async throws {
        struct Injected: Error {}
        try await TestServer.with { server in
            let (userID, versionID) = try await server.kyc { kyc in try await kyc.underReview() }
            // An open action request, so approve and update-request have one to resolve.
            let principal = TestServer.principal()
            _ = try await KYCService(store: server.store).review(
                .requestUpdate, versionID: versionID, review: .init(reason: "First request text."), principal: principal,
                requestID: nil, now: Date())
            let snapshot = try await server.kycSnapshot()
            let failing = KYCService(store: server.store, faultAfterVersionUpdate: { throw Injected() })
            await #expect(throws: Injected.self) {
                try await failing.review(
                    action, versionID: versionID,
                    review: .init(rejectionReason: "Long enough reason.", reason: "Long enough reason."),
                    principal: principal, requestID: nil, now: Date())
            }
            #expect(try await server.kycSnapshot() == snapshot)
            // The same call without the fault goes through: the test could fail.
            _ = try await KYCService(store: server.store).review(
                action, versionID: versionID, review: .init(rejectionReason: "Long enough reason.", reason: "Long enough reason."),
                principal: principal, requestID: nil, now: Date())
            #expect(try await server.kycSnapshot() != snapshot)
            _ = userID
        }
    }

    @Test func concurrentApproveAndRejectExactlyOneWins() async throws {
        try await TestServer.with { server in
            for round in 0..<5 {
                let (userID, versionID) = try await server.kyc { kyc in
                    var person = KYCCaller.person
                    person["nationalId"] = "RACE-\(round)"
                    return try await kyc.underReview(data: person, email: "c\(round)@example.com")
                }
                let answers = try await server.test(.live) { client in
                    let kyc = KYCCaller(client: client, key: try await server.roleKey([.claimIssuer], name: "r\(round)"))
                    async let approve = kyc.call(.post, "/api/v2/kyc-profile-versions/\(versionID)/approvals", "{}")
                    async let reject = kyc.call(
                        .post, "/api/v2/kyc-profile-versions/\(versionID)/rejections", #"{"rejectionReason":"Concurrent rejection."}"#)
                    let both = try await [approve, reject]
                    return both.map { ($0.status, $0.dalpID) }
                }
                let winners = answers.filter { $0.0 == .ok }
                #expect(winners.count == 1, "\(answers)")
                let loser = try #require(answers.first { $0.0 != .ok })
                #expect(loser.0 == .conflict)
                #expect(loser.1 == (answers[0].0 == .ok ? "DALP-0390" : "DALP-0388"))
                let final = try await server.store.kyc.version(id: versionID)?.0.status
                #expect(final == (answers[0].0 == .ok ? .approved : .rejected))
                let approvedVersion = try await server.store.kyc.user(id: userID, environment: .live)?.approvedVersionID
                #expect((approvedVersion == versionID) == (answers[0].0 == .ok))
            }
        }
    }

    @Test func fourEyesStopsTheSubmitterFromApproving() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let settings = try await kyc.call(.patch, "/api/v2/kyc-settings", #"{"fourEyes":true}"#, key: server.adminKey)
                #expect(settings.status == .ok && settings.data["fourEyes"] as? Bool == true)
                let (_, versionID) = try await kyc.underReview()
                #expect(try await kyc.version(versionID)["canReview"] as? Bool == false)
                let snapshot = try await server.kycSnapshot()
                let refused = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(versionID)/approvals")
                #expect(refused.status == .forbidden && refused.dalpID == "DALP-0006")
                #expect(try await server.kycSnapshot() == snapshot)
                let second = try await server.roleKey([.claimIssuer], name: "second")
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(versionID)/approvals", key: second).status == .ok)
            }
        }
    }

    @Test func settingsNeedAdminAndAreAudited() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                #expect(try await kyc.call(.get, "/api/v2/kyc-settings").data["fourEyes"] as? Bool == false)
                let refused = try await kyc.call(.patch, "/api/v2/kyc-settings", #"{"reviewNotesVisible":true}"#)
                #expect(refused.status == .forbidden && refused.dalpID == "DALP-0006")
                let bad = try await kyc.call(.patch, "/api/v2/kyc-settings", #"{"reviewNotesVisible":"yes"}"#, key: server.adminKey)
                #expect(bad.status == .badRequest && bad.issuePaths == ["reviewNotesVisible"])
                let ok = try await kyc.call(.patch, "/api/v2/kyc-settings", #"{"reviewNotesVisible":true}"#, key: server.adminKey)
                #expect(ok.data["reviewNotesVisible"] as? Bool == true && ok.data["fourEyes"] as? Bool == false)
            }
            #expect(try await auditActions(server, subject: "kyc") == ["kyc.settings.updated"])
        }
    }

    @Test func approvedNationalIDAndCountryAreUniqueAcrossUsers() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let (firstUser, first) = try await kyc.underReview(email: "one@example.com")
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(first)/approvals").status == .ok)
                var same = KYCCaller.person
                same["nationalId"] = " QQ123456C "
                let (_, second) = try await kyc.underReview(data: same, email: "two@example.com")
                let snapshot = try await server.kycSnapshot()
                let refused = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(second)/approvals")
                #expect(refused.status == .conflict && refused.json["code"] as? String == "KYC_IDENTITY_NOT_UNIQUE")
                #expect(try await server.kycSnapshot() == snapshot)
                // Same number, other country: a different identity.
                same["country"] = "IE"
                let (_, third) = try await kyc.underReview(data: same, email: "three@example.com")
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(third)/approvals").status == .ok)
                // The same user re-approving its own identity supersedes its old approval.
                let again = try #require(try await kyc.createDraft(firstUser).data["id"] as? String)
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(again)/submissions").status == .ok)
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(again)/approvals").status == .ok)
                #expect(try await kyc.version(first)["status"] as? String == "superseded")
            }
        }
    }

    /// Two users with one identity approved at once: one 200, one 409, never a 500.
    @Test func concurrentApprovalsOfOneIdentityGiveOne409() async throws {
        try await TestServer.with { server in
            for round in 0..<3 {
                let versions = try await server.kyc { kyc in
                    var person = KYCCaller.person
                    person["nationalId"] = "SAME-\(round)"
                    let (_, a) = try await kyc.underReview(data: person, email: "a\(round)@example.com")
                    let (_, b) = try await kyc.underReview(data: person, email: "b\(round)@example.com")
                    return [a, b]
                }
                let statuses = try await server.kyc { kyc in
                    async let first = kyc.call(.post, "/api/v2/kyc-profile-versions/\(versions[0])/approvals")
                    async let second = kyc.call(.post, "/api/v2/kyc-profile-versions/\(versions[1])/approvals")
                    return try await [first, second].map { ($0.status.code, $0.json["code"] as? String) }
                }
                #expect(statuses.map(\.0).sorted() == [200, 409], "\(statuses)")
                #expect(statuses.contains { $0.1 == "KYC_IDENTITY_NOT_UNIQUE" })
            }
        }
    }

    @Test func theSweepServiceExpiresDueRequests() async throws {
        try await TestServer.with { server in
            let (_, versionID) = try await server.kyc { kyc in try await kyc.underReview() }
            let now = Date()
            let result = try await KYCService(store: server.store).review(
                .requestUpdate, versionID: versionID, review: .init(reason: "Bring a recent bill.", dueAt: now.addingTimeInterval(3600)),
                principal: TestServer.principal(), requestID: nil, now: now)
            let requestID = try #require(result.actionRequest?.id)
            await SweepService(store: server.store, clock: ServerClock { now.addingTimeInterval(1800) }, logger: TestDatabase.logger).sweepOnce()
            #expect(try await server.store.kyc.actionRequest(id: requestID)?.0.status == .open)
            await SweepService(store: server.store, clock: ServerClock { now.addingTimeInterval(3601) }, logger: TestDatabase.logger).sweepOnce()
            #expect(try await server.store.kyc.actionRequest(id: requestID)?.0.status == .expired)
        }
    }

    @Test func openActionRequestsExpireOnceTheirDueTimePasses() async throws {
        try await TestServer.with { server in
            try await subscribeToKYCEvents(server)
            let (_, versionID) = try await server.kyc { kyc in try await kyc.underReview() }
            let now = Date()
            let service = KYCService(store: server.store)
            let result = try await service.review(
                .requestUpdate, versionID: versionID, review: .init(reason: "Bring a recent bill.", dueAt: now.addingTimeInterval(60)),
                principal: TestServer.principal(), requestID: nil, now: now)
            let requestID = try #require(result.actionRequest?.id)
            #expect(try await service.expireDueActionRequests(now: now.addingTimeInterval(59)) == 0)
            #expect(try await service.expireDueActionRequests(now: now.addingTimeInterval(61)) == 1)
            #expect(try await service.expireDueActionRequests(now: now.addingTimeInterval(62)) == 0)
            #expect(try await server.store.kyc.actionRequest(id: requestID)?.0.status == .expired)
            #expect(try await eventTypes(server).last == "kyc.action_request.expired")
            #expect(try await auditActions(server, subject: requestID) == ["kyc.action_request.created", "kyc.action_request.expired"])
        }
    }
}
