import Foundation
import HTTPTypes
import SQLKit
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

@Suite("KYC webhook events")
struct KYCEventTests {
    func payload(_ server: TestServer, type: String) async throws -> [String: JSONValue] {
        let id = try await server.store.database.read { sql in
            try await sql.raw("SELECT event_id FROM webhook_events WHERE webhook_type = \(bind: type) ORDER BY created_at DESC").first()?
                .decode(column: "event_id", as: String.self)
        }
        let eventID = try #require(id)
        let event = try #require(try await server.store.outbox.event(id: eventID).event)
        #expect(try await server.store.outbox.deliveries(eventID: event.id).count == 1)
        return try #require(event.payload.objectValue)
    }

    @Test func subscribedDestinationsGetTheKYCPayloadWithNotesOnlyWhenVisible() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let destination = try await kyc.call(
                    .post, "/v3/webhook/destinations/",
                    #"{"url":"https://93.184.216.34/hook","subscribed_events":["kyc.version.approved","kyc.version.changes_requested","kyc.version.rejected"]}"#,
                    key: server.adminKey)
                #expect(destination.status == .created, "\(destination.json)")

                let (userID, versionID) = try await kyc.underReview()
                #expect(try await kyc.call(
                    .post, "/api/v2/kyc-profile-versions/\(versionID)/update-requests",
                    #"{"reason":"Add a proof of address.","requiredFields":["proof_of_address"],"reviewNotes":"internal only"}"#
                ).status == .ok)
                var body = try await payload(server, type: "kyc.version.changes_requested")
                #expect(body["user_id"] == .string(userID) && body["version_id"] == .string(versionID))
                #expect(body["status"] == "under_review" && body["review_outcome"] == "changes_requested")
                #expect(body["previous_status"] == "under_review" && body["environment"] == "live")
                #expect(body["review_notes"] == nil, "notes are internal while kyc.review_notes_visible is off")
                #expect(body["action_request"]?["required_fields"] == ["proof_of_address"])
                let sequence = try #require(body["sequence"])

                #expect(try await kyc.call(.patch, "/api/v2/kyc-settings", #"{"reviewNotesVisible":true}"#, key: server.adminKey).status == .ok)
                #expect(try await kyc.call(
                    .post, "/api/v2/kyc-profile-versions/\(versionID)/rejections",
                    #"{"rejectionReason":"The address could not be verified.","reviewNotes":"now visible"}"#
                ).status == .ok)
                body = try await payload(server, type: "kyc.version.rejected")
                #expect(body["review_notes"] == "now visible")
                #expect(body["rejection_reason"] == "The address could not be verified.")
                if case .int(let before) = sequence, case .int(let after)? = body["sequence"] { #expect(after == before + 1) }
                else { Issue.record("sequence is not an integer") }
                // No personal data in an event.
                #expect(!JSONValue.object(body).canonicalText.contains("Lovelace"))
            }
        }
    }
}
