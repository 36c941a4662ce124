import Foundation
import HTTPTypes
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceTestSupport

/// Every validation rule broken once: 400, DALP-0001, an issue naming the
/// path, and not one row changed.
@Suite("KYC bad input")
struct KYCBadInputTests {
    enum Target: String, Sendable { case draft, underReview, user }

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var target: Target
        var method: HTTPRequest.Method
        var route: String
        var body: String
        var path: String
        var description: String { name }
    }

    static let seventeen: String = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return String(Timestamp.iso8601(calendar.date(byAdding: .year, value: -17, to: Date())!).prefix(10))
    }()
    static let past = Timestamp.iso8601(Date().addingTimeInterval(-60))

    static let cases: [Case] = [
        .init(name: "short rejection reason", target: .underReview, method: .post, route: "rejections", body: #"{"rejectionReason":"  123456789  "}"#, path: "rejectionReason"),
        .init(name: "missing rejection reason", target: .underReview, method: .post, route: "rejections", body: #"{"reviewNotes":"x"}"#, path: "rejectionReason"),
        .init(name: "short update reason", target: .underReview, method: .post, route: "update-requests", body: #"{"reason":"123456789"}"#, path: "reason"),
        .init(name: "dueAt in the past", target: .underReview, method: .post, route: "update-requests", body: #"{"reason":"Long enough reason.","dueAt":"\#(past)"}"#, path: "dueAt"),
        .init(name: "dueAt unparseable", target: .underReview, method: .post, route: "update-requests", body: #"{"reason":"Long enough reason.","dueAt":"next week"}"#, path: "dueAt"),
        .init(name: "unknown requiredFields", target: .underReview, method: .post, route: "update-requests", body: #"{"reason":"Long enough reason.","requiredFields":["dob","shoeSize"]}"#, path: "requiredFields[1]"),
        .init(name: "requiredFields not a list", target: .underReview, method: .post, route: "update-requests", body: #"{"reason":"Long enough reason.","requiredFields":"dob"}"#, path: "requiredFields"),
        .init(name: "reviewNotes not a string", target: .underReview, method: .post, route: "approvals", body: #"{"reviewNotes":5}"#, path: "reviewNotes"),
        .init(name: "first name of 65", target: .draft, method: .patch, route: "", body: #"{"firstName":"\#(String(repeating: "a", count: 65))"}"#, path: "firstName"),
        .init(name: "last name blank", target: .draft, method: .patch, route: "", body: #"{"lastName":"   "}"#, path: "lastName"),
        .init(name: "dob 17 years ago", target: .draft, method: .patch, route: "", body: #"{"dob":"\#(seventeen)"}"#, path: "dob"),
        .init(name: "dob not a date", target: .draft, method: .patch, route: "", body: #"{"dob":"2000-02-30"}"#, path: "dob"),
        .init(name: "lower-case country", target: .draft, method: .patch, route: "", body: #"{"country":"gb"}"#, path: "country"),
        .init(name: "unknown country", target: .draft, method: .patch, route: "", body: #"{"country":"XX"}"#, path: "country"),
        .init(name: "nationalId of spaces", target: .draft, method: .patch, route: "", body: #"{"nationalId":"     "}"#, path: "nationalId"),
        .init(name: "nationalId of 51", target: .draft, method: .patch, route: "", body: #"{"nationalId":"\#(String(repeating: "9", count: 51))"}"#, path: "nationalId"),
        .init(name: "unknown residency", target: .draft, method: .patch, route: "", body: #"{"residencyStatus":"citizen"}"#, path: "residencyStatus"),
        .init(name: "unknown field", target: .draft, method: .patch, route: "", body: #"{"shoeSize":"44"}"#, path: "shoeSize"),
        .init(name: "field of wrong type", target: .draft, method: .patch, route: "", body: #"{"dob":19900101}"#, path: "dob"),
        .init(name: "initialData name of 65", target: .user, method: .post, route: "versions", body: #"{"initialData":{"firstName":"\#(String(repeating: "b", count: 65))"}}"#, path: "initialData.firstName"),
        .init(name: "overwriteDraft not a boolean", target: .user, method: .post, route: "versions", body: #"{"overwriteDraft":"yes"}"#, path: "overwriteDraft"),
        .init(name: "submission of a partial draft", target: .draft, method: .post, route: "submissions", body: "", path: "nationalId"),
    ]

    /// One database for every case (each on its own user): a fresh database
    /// per case costs more than the cases themselves on PostgreSQL.
    @Test func everyBrokenRuleIsRefusedNamingThePathAndChangesNothing() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                for (index, item) in Self.cases.enumerated() {
                    let userID = try await kyc.createUser(email: "case\(index)@example.com")
                    var versionID = ""
                    switch item.target {
                    case .user: break
                    case .draft:
                        var partial = KYCCaller.person
                        partial["nationalId"] = nil
                        versionID = try #require(try await kyc.createDraft(userID, data: partial).data["id"] as? String)
                    case .underReview:
                        var person = KYCCaller.person
                        person["nationalId"] = "CASE-\(index)"
                        versionID = try #require(try await kyc.createDraft(userID, data: person).data["id"] as? String)
                        #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(versionID)/submissions").status == .ok)
                    }
                    let path: String
                    switch item.target {
                    case .user: path = "/api/v2/kyc-profiles/\(userID)/\(item.route)"
                    default: path = "/api/v2/kyc-profile-versions/\(versionID)" + (item.route.isEmpty ? "" : "/\(item.route)")
                    }
                    let snapshot = try await server.kycSnapshot()
                    let answer = try await kyc.call(item.method, path, item.body.isEmpty ? nil : item.body)
                    #expect(answer.status == .badRequest, "\(item): \(answer.json)")
                    #expect(answer.dalpID == "DALP-0001", "\(item)")
                    #expect(answer.json["code"] as? String == "VALIDATION_ERROR", "\(item)")
                    #expect(answer.json["status"] as? Int == 400, "\(item)")
                    #expect(answer.issuePaths.contains(item.path), "\(item): \(answer.issuePaths)")
                    #expect(try await server.kycSnapshot() == snapshot, "\(item) wrote")
                }
            }
        }
    }

    @Test func everyIssueIsListedAtOnce() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let userID = try await kyc.createUser()
                let versionID = try #require(try await kyc.createDraft(userID, data: [:]).data["id"] as? String)
                let answer = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(versionID)/submissions")
                #expect(Set(answer.issuePaths) == ["firstName", "lastName", "dob", "country", "residencyStatus", "nationalId"])
                let patch = try await kyc.call(
                    .patch, "/api/v2/kyc-profile-versions/\(versionID)", #"{"country":"gb","dob":"1990-1-1","firstName":""}"#)
                #expect(Set(patch.issuePaths) == ["country", "dob", "firstName"])
            }
        }
    }

    @Test func usersAreValidatedAndExternalIdIsUnique() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                for (body, path) in [
                    (#"{"email":"not-an-email"}"#, "email"), (#"{}"#, "email"),
                    (#"{"email":"a@example.com","firstName":"\#(String(repeating: "x", count: 65))"}"#, "firstName"),
                    (#"{"email":"a@example.com","externalId":"  "}"#, "externalId"),
                ] {
                    let answer = try await kyc.call(.post, "/api/v2/users", body)
                    #expect(answer.status == .badRequest && answer.issuePaths == [path], "\(body)")
                }
                let id = try await kyc.createUser(externalId: "crm-1")
                #expect(id.hasPrefix("usr_"))
                let duplicate = try await kyc.call(.post, "/api/v2/users", #"{"email":"b@example.com","externalId":"crm-1"}"#)
                #expect(duplicate.status == .conflict)
                let user = try await kyc.call(.get, "/api/v2/users/\(id)")
                #expect(user.data["email"] as? String == "ada@example.com" && user.data["externalId"] as? String == "crm-1")
                let list = try await kyc.call(.get, "/api/v2/users?limit=1")
                #expect(list.data["total"] as? Int == 1 && (list.data["items"] as? [Any])?.count == 1 && list.data["limit"] as? Int == 1)
            }
        }
    }
}

@Suite("KYC versions and access")
struct KYCVersionTests {
    @Test func oneOpenDraftUnlessOverwritten() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let userID = try await kyc.createUser()
                let first = try await kyc.createDraft(userID)
                #expect(first.status == .created)
                #expect(first.data["canEdit"] as? Bool == true && first.data["canSubmit"] as? Bool == true)
                #expect(first.data["status"] as? String == "draft" && first.data["versionNumber"] as? Int == 1)
                let snapshot = try await server.kycSnapshot()
                let second = try await kyc.createDraft(userID)
                #expect(second.status == .conflict && second.json["code"] as? String == "KYC_DRAFT_EXISTS")
                #expect(try await server.kycSnapshot() == snapshot)
                let replaced = try await kyc.createDraft(userID, data: ["firstName": "Grace"], overwrite: true)
                #expect(replaced.status == .created)
                #expect(replaced.data["id"] as? String != first.data["id"] as? String)
                #expect(replaced.data["canSubmit"] as? Bool == false)
                let versions = try await kyc.call(.get, "/api/v2/kyc-profiles/\(userID)/versions")
                #expect(versions.data["total"] as? Int == 1)
                let firstID = try #require(first.data["id"] as? String)
                #expect(try await kyc.call(.get, "/api/v2/kyc-profile-versions/\(firstID)").dalpID == "DALP-0419")
            }
        }
    }

    @Test func onlyDraftsAreEditedAndAPlainReviewBlocksSubmission() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let (userID, versionID) = try await kyc.underReview()
                let edit = try await kyc.call(.patch, "/api/v2/kyc-profile-versions/\(versionID)", #"{"firstName":"Eve"}"#)
                #expect(edit.status == .conflict && edit.json["code"] as? String == "KYC_VERSION_NOT_DRAFT")
                let draft = try #require(try await kyc.createDraft(userID).data["id"] as? String)
                let blocked = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(draft)/submissions")
                #expect(blocked.status == .conflict && blocked.json["code"] as? String == "KYC_REVIEW_IN_PROGRESS")
                let listed = try await kyc.call(.get, "/api/v2/kyc-profiles/\(userID)/versions?statuses=draft,under_review&orderDirection=asc")
                let items = try #require(listed.data["items"] as? [[String: Any]])
                #expect(items.map { $0["versionNumber"] as? Int } == [1, 2])
                #expect(try await kyc.call(.get, "/api/v2/kyc-profiles/\(userID)/versions?statuses=open").issuePaths == ["statuses"])
                #expect(try await kyc.call(.get, "/api/v2/kyc-profiles/\(userID)/versions?orderDirection=up").issuePaths == ["orderDirection"])
            }
        }
    }

    @Test func personalDataIsSealedAndKeptOutOfTheAuditTrail() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let (userID, _) = try await kyc.underReview()
                _ = userID
            }
            let dump = try await server.kycSnapshot()
            for secret in ["Lovelace", "QQ123456C", "1990-12-10", "ada@example.com"] {
                #expect(!dump.contains(secret))
            }
            let (_, entries) = try await server.store.audit.entries(subjectID: nil, limit: 100, offset: 0)
            let text = entries.map { "\($0.before?.canonicalText ?? "") \($0.after?.canonicalText ?? "") \($0.comment ?? "")" }.joined()
            for secret in ["Lovelace", "QQ123456C", "1990-12-10", "ada@example.com"] { #expect(!text.contains(secret)) }
        }
    }

    @Test func rolesGateTheDialect() async throws {
        try await TestServer.with { server in
            let privilegesOnly = try await server.key(Privilege.allCases).key
            let issuer = try await server.roleKey([.claimIssuer], name: "issuer")
            try await server.kyc { kyc in
                let userID = try await kyc.createUser()
                let none = try await kyc.call(.get, "/api/v2/kyc-profiles/\(userID)", key: privilegesOnly)
                #expect(none.status == .forbidden && none.dalpID == "DALP-0006" && none.json["code"] as? String == "PERMISSION_DENIED")
                let noKey = try await kyc.call(.get, "/api/v2/kyc-profiles/\(userID)", key: "")
                #expect(noKey.status == .unauthorized && noKey.dalpID == "DALP-0002")
                // claimIssuer reads and reviews but does not create users.
                #expect(try await kyc.call(.get, "/api/v2/kyc-profiles/\(userID)", key: issuer).status == .ok)
                let create = try await kyc.call(.post, "/api/v2/users", #"{"email":"x@example.com"}"#, key: issuer)
                #expect(create.status == .forbidden && create.dalpID == "DALP-0006")
            }
        }
    }
}
