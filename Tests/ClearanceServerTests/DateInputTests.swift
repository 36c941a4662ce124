import Foundation
import HTTPTypes
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceTestSupport

/// Dates written with digits of another script matched the parser's `\d`,
/// which `Int` then refused, and a force unwrap stopped the whole server.
/// Every place a client's date reaches the parser answers 400 (or ignores a
/// value it only reads) now.
@Suite("Dates in requests")
struct DateInputTests {
    static let arabic = "٢٠٢٦-01-01"
    static var arabicQuery: String { arabic.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }

    @Test func aListFilterWithOtherDigitsIs400() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                for name in ["date_from", "date_to"] {
                    let response = try await client.json(.get, "/v3/sessions/?\(name)=\(Self.arabicQuery)", key: server.adminKey)
                    #expect(response.status == .badRequest, "\(name): \(response.status)")
                    #expect((response.json["errors"] as? [String: Any])?[name] != nil, "\(response.text)")
                }
                // The documented forms still work.
                let ok = try await client.json(.get, "/v3/sessions/?date_from=2026-01-01%2010:00%2B0100&date_to=2026-12-31", key: server.adminKey)
                #expect(ok.status == .ok, "\(ok.text)")
            }
        }
    }

    @Test func aDateOfBirthOrAnExpiryWithOtherDigitsIsRefusedOrIgnored() async throws {
        try await TestServer.with { server in
            let workflow = try await server.workflow([.ocr])
            try await server.test { client in
                let refused = try await client.json(
                    .post, "/v3/session/", key: server.adminKey,
                    #"{"workflow_id":"\#(workflow.id)","expected_details":{"date_of_birth":"\#(Self.arabic)"}}"#)
                #expect(refused.status == .badRequest)
                #expect((refused.json["errors"] as? [String: Any])?["expected_details.date_of_birth"] != nil, "\(refused.text)")

                let created = try await client.json(.post, "/v3/session/", key: server.adminKey, #"{"workflow_id":"\#(workflow.id)"}"#)
                let id = try #require(created.json["session_id"] as? String)
                // A node's expiration_date is only read to schedule Kyc Expired: one it cannot read is left alone.
                let node = try await client.json(
                    .patch, "/v3/session/\(id)/features/feature_ocr/update-status/", key: server.adminKey,
                    #"{"new_status":"Approved","data":{"expiration_date":"\#(Self.arabic)"}}"#)
                #expect(node.status == .ok, "\(node.text)")
                #expect(node.json["status"] as? String == "Approved")
            }
        }
    }
}
