import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceTestSupport

@Suite("KYC attestations")
struct KYCAttestationTests {
    func jwks(_ client: any TestClientProtocol) async throws -> [Curve25519.Signing.PublicKey] {
        let response = try await client.execute(uri: "/.well-known/jwks.json", method: .get)
        #expect(response.status == .ok)
        return try (response.json["keys"] as? [[String: Any]] ?? []).map {
            #expect($0["kty"] as? String == "OKP" && $0["crv"] as? String == "Ed25519" && $0["alg"] as? String == "EdDSA")
            return try Curve25519.Signing.PublicKey(rawRepresentation: Base64URL.decode(try #require($0["x"] as? String)) ?? [])
        }
    }

    @Test func issueVerifyRotateAndRevokeWhenSuperseded() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let (userID, versionID) = try await kyc.underReview()
                let early = try await kyc.call(.post, "/api/v2/kyc-profiles/\(userID)/attestations")
                #expect(early.status == .conflict && early.json["code"] as? String == "KYC_PROFILE_NOT_APPROVED")
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(versionID)/approvals").status == .ok)
                let contentHash = try #require((try await kyc.profile(userID)["approvedVersion"] as? [String: Any])?["contentHash"] as? String)

                let issued = try await kyc.call(.post, "/api/v2/kyc-profiles/\(userID)/attestations")
                #expect(issued.status == .created, "\(issued.json)")
                let token = try #require(issued.data["token"] as? String)
                let id = try #require(issued.data["id"] as? String)
                let claims = try #require(EdDSAJWS.verify(token, keys: try await jwks(kyc.client)))
                #expect(claims["sub"]?.stringValue == userID && claims["claim"]?.stringValue == contentHash)
                #expect(claims["versionId"]?.stringValue == versionID && claims["topic"]?.stringValue == "knowYourCustomer")
                #expect(claims["jti"]?.stringValue == id && claims["iss"]?.stringValue == "http://clearance.test")

                // Rotation: a new key signs, the old one stays published.
                let refused = try await kyc.call(.post, "/api/v2/kyc-signing-keys/rotations")
                #expect(refused.status == .forbidden)
                let rotated = try await kyc.call(.post, "/api/v2/kyc-signing-keys/rotations", key: server.adminKey)
                #expect(rotated.status == .created)
                let keys = try await jwks(kyc.client)
                #expect(keys.count == 2 && EdDSAJWS.verify(token, keys: keys) != nil)
                let second = try #require(try await kyc.call(.post, "/api/v2/kyc-profiles/\(userID)/attestations").data["token"] as? String)
                #expect(second.split(separator: ".").first != token.split(separator: ".").first, "the header names the new kid")

                var status = try await kyc.client.execute(uri: "/kyc-attestations/\(id)/status", method: .get)
                #expect(status.json["status"] as? String == "active")
                // A later approval supersedes the version and revokes its attestations.
                let next = try #require(try await kyc.createDraft(userID).data["id"] as? String)
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(next)/submissions").status == .ok)
                #expect(try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(next)/approvals").status == .ok)
                status = try await kyc.client.execute(uri: "/kyc-attestations/\(id)/status", method: .get)
                #expect(status.json["status"] as? String == "revoked" && status.json["revokedReason"] as? String == "superseded")
                #expect(try await kyc.client.execute(uri: "/kyc-attestations/kyca_nope/status", method: .get).status == .notFound)
                #expect(try await auditActions(server, subject: id) == ["kyc.attestation.issued", "kyc.attestation.revoked"])
            }
        }
    }
}
