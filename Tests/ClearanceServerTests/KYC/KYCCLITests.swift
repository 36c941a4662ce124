import ClearanceClient
import Foundation
import Testing

/// `clearance kyc …` against a real `clearance serve`, through the client module.
@Suite("KYC CLI")
struct KYCCLITests {
    static let person = [
        "firstName": "Ada", "lastName": "Lovelace", "dob": "1990-12-10", "country": "GB", "residencyStatus": "resident",
    ]

    @Test func reviewerActionsProfileAndVersionsThroughTheServer() async throws {
        let directory = try CLI.temporaryDirectory()
        let environment = ["CLEARANCE_DATA_DIR": directory]
        let server = try CLI.Server([], environment: environment)
        defer { _ = server.stop() }
        let created = try CLI.run(
            ["keys", "create", "--name", "reviewer", "--role", "identityManager", "--role", "claimIssuer", "--json"],
            environment: environment)
        let key = try #require((try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])?["key"] as? String)
        let client = ClearanceClient(baseURL: server.baseURL, apiKey: key)
        func underReview(_ nationalID: String) async throws -> (String, String) {
            let user = try await client.createKYCUser(email: "\(nationalID)@example.com")
            var data = Self.person
            data["nationalId"] = nationalID
            let version = try await client.createKYCVersion(userID: user.id, initialData: data)
            _ = try await client.submitKYCVersion(id: version.id)
            return (user.id, version.id)
        }
        let (userID, versionID) = try await underReview("CLI-1")
        let cli = ["CLEARANCE_SERVER": server.baseURL, "CLEARANCE_API_KEY": key]

        let requested = try CLI.run(
            ["kyc", "version-request-update", versionID, "--reason", "Add a proof of address.", "--required-field", "proof_of_address",
             "--due-at", "2099-01-01T00:00:00.000Z"], environment: cli)
        #expect(requested.status == 0, "\(requested.stderr)")
        #expect(requested.stdout.contains("is under_review (changes requested)") && requested.stdout.contains("required: proof_of_address"))
        let profile = try CLI.run(["kyc", "profile", userID], environment: cli)
        #expect(profile.stdout.contains("profile \(userID): incomplete, needs update"), "\(profile.stdout)")
        #expect(profile.stdout.contains("Add a proof of address. (due 2099-01-01T00:00:00.000Z)"))

        let approved = try CLI.run(["kyc", "version-approve", versionID, "--notes", "Looks right.", "--json"], environment: cli)
        #expect(approved.status == 0, "\(approved.stderr)")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(approved.stdout.utf8)) as? [String: Any])
        let data = try #require(answer["data"] as? [String: Any])
        #expect(data["status"] as? String == "approved" && data["reviewNotes"] as? String == "Looks right.")
        let shown = try CLI.run(["kyc", "profile", userID], environment: cli)
        #expect(shown.stdout.contains("profile \(userID): approved") && shown.stdout.contains("name: Ada Lovelace"), "\(shown.stdout)")

        let versions = try CLI.run(["kyc", "versions", userID, "--status", "approved"], environment: cli)
        #expect(versions.stdout.contains("v1\t\(versionID)\tapproved") && versions.stdout.contains("1 of 1 versions"), "\(versions.stdout)")

        // Errors: one line with the DALP id and message, exit 1.
        let again = try CLI.run(["kyc", "version-reject", versionID, "--reason", "Too late to reject."], environment: cli)
        #expect(again.status == 1)
        #expect(again.stderr.contains("HTTP 409 DALP-0390 KYC_VERSION_NOT_UNDER_REVIEW: The version is approved"), "\(again.stderr)")
        let short = try CLI.run(["kyc", "version-reject", versionID, "--reason", "short"], environment: cli)
        #expect(short.status == 1 && short.stderr.contains("DALP-0001") && short.stderr.contains("rejectionReason"), "\(short.stderr)")
        let foreign = try CLI.run(["kyc", "version-approve", userID], environment: cli)
        #expect(foreign.status == 1 && foreign.stderr.contains("HTTP 404 DALP-0419"), "\(foreign.stderr)")

        let (_, second) = try await underReview("CLI-2")
        let rejected = try CLI.run(["kyc", "version-reject", second, "--reason", "Document is unreadable."], environment: cli)
        #expect(rejected.status == 0 && rejected.stdout.contains("is rejected (outcome rejected)"), "\(rejected.stderr)")
        #expect(rejected.stdout.contains("rejection reason: Document is unreadable."))
    }
}
