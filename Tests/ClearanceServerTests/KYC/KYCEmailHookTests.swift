import Foundation
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

@Suite("KYC: emails from the reviewer actions")
struct KYCEmailHookTests {
    /// The plain-text part of an `.eml` file.
    func text(ofEmailIn directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map { name in
            let mime = try String(contentsOfFile: (directory as NSString).appendingPathComponent(name), encoding: .utf8)
            let part = mime.components(separatedBy: "Content-Transfer-Encoding: base64\r\n\r\n")[1]
                .components(separatedBy: "\r\n--")[0].replacingOccurrences(of: "\r\n", with: "")
            return String(decoding: try #require(Data(base64Encoded: part)), as: UTF8.self)
        }
    }

    @Test func rejectAndRequestUpdateEmailThePersonApproveDoesNot() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let (rejectedUser, requestedUser, approvedUser) = try await server.kyc { kyc in
                let (rejectedUser, first) = try await kyc.underReview(email: "ada@example.com")
                #expect(try await kyc.call(
                    .post, "/api/v2/kyc-profile-versions/\(first)/rejections",
                    #"{"rejectionReason":"Proof of address document is expired.","reviewNotes":"internal: bill 14 months old"}"#
                ).status == .ok)
                let (requestedUser, second) = try await kyc.underReview(
                    data: KYCCaller.person.merging(["nationalId": "QQ654321C"]) { $1 }, email: "grace@example.com")
                #expect(try await kyc.call(
                    .post, "/api/v2/kyc-profile-versions/\(second)/update-requests",
                    kyc.json(["reason": "Add a recent proof of address.", "requiredFields": ["proof_of_address", "dob"],
                              "dueAt": "2099-06-01T00:00:00.000Z"])
                ).status == .ok)
                let (approvedUser, third) = try await kyc.underReview(
                    data: KYCCaller.person.merging(["nationalId": "QQ111111C"]) { $1 }, email: "alan@example.com")
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(third)/approvals", "{}").status == .ok)
                return (rejectedUser, requestedUser, approvedUser)
            }
            #expect(try await server.store.emails.emails(subjectID: rejectedUser).map(\.kind) == [.kycRejected])
            #expect(try await server.store.emails.emails(subjectID: requestedUser).map(\.kind) == [.kycChangesRequested])
            #expect(try await server.store.emails.emails(subjectID: approvedUser).isEmpty)

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clearance-kyc-hook-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let delivery = EmailDeliveryService(
                store: server.store, transport: EMLDirectoryTransport(directory: directory), logger: TestDatabase.logger)
            #expect(await delivery.deliverDue() == 2)
            let texts = try text(ofEmailIn: directory)
            let rejection = try #require(texts.first { $0.contains("Your profile was not approved") || $0.contains("could not approve your profile") })
            #expect(rejection.hasPrefix("Hello Ada,"))
            #expect(rejection.contains("Proof of address document is expired."))
            #expect(!rejection.contains("internal"), "review notes stay with the reviewers")
            #expect(rejection.contains("Acme Bank"), "signed as the deployment is configured")
            let request = try #require(texts.first { $0.contains("needs you to make some changes") })
            #expect(request.contains("Add a recent proof of address."))
            #expect(request.contains("- proof_of_address") && request.contains("- dob"))
            #expect(request.contains("2099-06-01"))
        }
    }
}
