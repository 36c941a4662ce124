import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ClearanceDomain
@testable import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

/// Every authenticated route of this stage, with the privilege it needs and
/// a valid body for writes.
struct ProtectedRoute: Sendable, CustomStringConvertible {
    var method: HTTPRequest.Method
    var path: String
    var privilege: Privilege
    var body: String?

    var description: String { "\(method) \(path)" }

    static let all: [ProtectedRoute] = [
        .init(method: .post, path: "/v3/api-keys/", privilege: .adminKeys, body: #"{"name":"n","privileges":["read:audit"]}"#),
        .init(method: .get, path: "/v3/api-keys/", privilege: .adminKeys),
        .init(method: .delete, path: "/v3/api-keys/\(UUID().uuidString.lowercased())/", privilege: .adminKeys),
        .init(method: .get, path: "/v3/audit/", privilege: .readAudit),
        .init(method: .post, path: "/v3/workflows/", privilege: .writeWorkflows, body: #"{"name":"w","nodes":[{"feature":"OCR"}]}"#),
        .init(method: .get, path: "/v3/workflows/", privilege: .readWorkflows),
        .init(method: .get, path: "/v3/workflows/\(UUID().uuidString.lowercased())/", privilege: .readWorkflows),
        .init(method: .patch, path: "/v3/workflows/\(UUID().uuidString.lowercased())/", privilege: .writeWorkflows, body: #"{"name":"w2"}"#),
        .init(method: .post, path: "/v3/session/", privilege: .writeSessions, body: #"{"workflow_id":"\#(UUID().uuidString)"}"#),
        .init(method: .get, path: "/v3/session/\(UUID().uuidString.lowercased())/", privilege: .readSessions),
        .init(method: .get, path: "/v3/session/\(UUID().uuidString.lowercased())/decision/", privilege: .readSessions),
        .init(method: .get, path: "/v3/sessions/", privilege: .readSessions),
        .init(method: .post, path: "/v3/webhook/destinations/", privilege: .writeWebhooks, body: #"{"url":"https://93.184.216.34/hook","subscribed_events":["status.updated"]}"#),
        .init(method: .get, path: "/v3/webhook/destinations/", privilege: .readWebhooks),
        .init(method: .get, path: "/v3/webhook/destinations/\(UUID().uuidString.lowercased())/", privilege: .readWebhooks),
        .init(method: .patch, path: "/v3/webhook/destinations/\(UUID().uuidString.lowercased())/", privilege: .writeWebhooks, body: #"{"enabled":false}"#),
        .init(method: .delete, path: "/v3/webhook/destinations/\(UUID().uuidString.lowercased())/", privilege: .writeWebhooks),
        .init(method: .get, path: "/v3/webhook/destinations/\(UUID().uuidString.lowercased())/deliveries/", privilege: .readWebhooks),
        .init(method: .get, path: "/v3/webhook/destinations/\(UUID().uuidString.lowercased())/deliveries/\(UUID().uuidString.lowercased())/", privilege: .readWebhooks),
        .init(method: .post, path: "/v3/webhook/destinations/\(UUID().uuidString.lowercased())/deliveries/\(UUID().uuidString.lowercased())/resend/", privilege: .writeWebhooks),
        .init(method: .get, path: "/v3/session/\(UUID().uuidString.lowercased())/webhooks/", privilege: .readWebhooks),
        .init(method: .post, path: "/v3/webhook/destinations/\(UUID().uuidString.lowercased())/test/", privilege: .writeWebhooks),
        .init(method: .delete, path: "/v3/session/\(UUID().uuidString.lowercased())/delete/", privilege: .deleteSessions),
        .init(method: .patch, path: "/v3/session/\(UUID().uuidString.lowercased())/update-status/", privilege: .writeSessions, body: #"{"new_status":"Approved"}"#),
        .init(method: .patch, path: "/v3/session/\(UUID().uuidString.lowercased())/features/feature_ocr/update-status/", privilege: .writeSessions, body: #"{"new_status":"Approved"}"#),
        .init(method: .post, path: "/v3/session/\(UUID().uuidString.lowercased())/decision-email-preview/", privilege: .writeSessions, body: #"{"new_status":"Approved"}"#),
        .init(method: .post, path: "/v3/session/\(UUID().uuidString.lowercased())/resubmission-preview/", privilege: .writeSessions, body: #"{}"#),
        .init(method: .get, path: "/v3/session/\(UUID().uuidString.lowercased())/emails/", privilege: .readSessions),
    ]
}

@Suite("Authentication and authorization")
struct AccessTests {
    func count(_ server: TestServer) async throws -> (keys: Int, audit: Int) {
        let keys = try await server.store.apiKeys.list().count
        let (audit, _) = try await server.store.audit.entries(subjectID: nil, limit: 1, offset: 0)
        return (keys, audit)
    }

    @Test(arguments: ProtectedRoute.all)
    func refusedCallersGet401Or403AndChangeNothing(_ route: ProtectedRoute) async throws {
        try await TestServer.with { server in
            let revoked = try await server.key([route.privilege])
            _ = try await APIKeyService(store: server.store).revoke(id: revoked.id, actor: "test", requestID: nil, now: Date())
            let expired = try await server.key([route.privilege], expiresAt: Date().addingTimeInterval(-1))
            let lacking = try await server.key(Privilege.allCases.filter { $0 != route.privilege })
            let unknown = APIKeyToken.generate(environment: .live).text
            var wrongSecret = try #require(APIKeyToken(text: server.adminKey))
            wrongSecret.secret = APIKeyToken.generate(environment: .live).secret
            var wrongEnvironment = try #require(APIKeyToken(text: server.adminKey))
            wrongEnvironment.environment = .sandbox

            let before = try await count(server)
            let cases: [(String, HTTPFields, HTTPResponse.Status)] = [
                ("no key", headers(), .unauthorized),
                ("unknown key", headers(key: unknown), .unauthorized),
                ("wrong secret", headers(key: wrongSecret.text), .unauthorized),
                ("relabelled environment", headers(key: wrongEnvironment.text), .unauthorized),
                ("garbage", headers(key: "not a key"), .unauthorized),
                ("empty bearer", headers(["authorization": "Bearer "]), .unauthorized),
                ("revoked", headers(key: revoked.key), .unauthorized),
                ("expired", headers(bearer: expired.key), .unauthorized),
                ("lacking privilege", headers(key: lacking.key), .forbidden),
            ]
            try await server.test { client in
                for (name, fields, status) in cases {
                    var fields = fields
                    fields[.contentType] = "application/json"
                    let response = try await client.execute(
                        uri: route.path, method: route.method, headers: fields, body: route.body.map(body))
                    #expect(response.status == status, "\(name) on \(route)")
                    #expect(response.json["code"] as? String == (status == .forbidden ? "PERMISSION_DENIED" : "NOT_AUTHENTICATED"))
                    #expect(response.json["request_id"] is String)
                }
            }
            let after = try await count(server)
            #expect(after.keys == before.keys && after.audit == before.audit, "a refused request wrote")
        }
    }

    @Test(arguments: ProtectedRoute.all)
    func oversizeBodiesAre413(_ route: ProtectedRoute) async throws {
        let configuration = ServerConfiguration(port: 0, publicURL: "http://clearance.test", bodyLimit: 4096)
        try await TestServer.with(configuration: configuration) { server in
            let before = try await count(server)
            try await server.test(.live) { client in
                let big = #"{"name":""# + String(repeating: "x", count: 5000) + #"","privileges":["read:audit"]}"#
                let response = try await client.execute(
                    uri: route.path, method: route.method, headers: headers(key: server.adminKey), body: body(big))
                #expect(response.status == .contentTooLarge, "\(route)")
                #expect(response.json["code"] as? String == "PAYLOAD_TOO_LARGE")
            }
            let after = try await count(server)
            #expect(after.keys == before.keys && after.audit == before.audit)
        }
    }

    @Test(arguments: ProtectedRoute.all.filter { $0.body != nil })
    func malformedJSONIs400NamingTheBody(_ route: ProtectedRoute) async throws {
        try await TestServer.with { server in
            let before = try await count(server)
            try await server.test { client in
                for text in ["{", "", "[1,2]", "null", #"{"name": }"#, "{'name':1}", "{\"name\":\"\u{01}\"}"] {
                    let response = try await client.execute(
                        uri: route.path, method: route.method, headers: headers(key: server.adminKey), body: body(text))
                    #expect(response.status == .badRequest, "\(route) with \(text)")
                    #expect(response.json["code"] as? String == "VALIDATION_ERROR")
                    #expect(response.json["errors"] is [String: Any], "\(text)")
                }
            }
            let after = try await count(server)
            #expect(after.keys == before.keys && after.audit == before.audit)
        }
    }

    @Test func bothHeaderStylesAuthenticateAndUseIsRecorded() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let viaHeader = try await client.execute(uri: "/v3/audit/", method: .get, headers: headers(key: server.adminKey))
                #expect(viaHeader.status == .ok)
                let viaBearer = try await client.execute(uri: "/v3/audit/", method: .get, headers: headers(bearer: server.adminKey))
                #expect(viaBearer.status == .ok)
            }
            let admin = try #require(try await server.store.apiKeys.list().first { $0.name == "admin" })
            #expect(admin.lastUsedAt != nil)
        }
    }

    /// The presented key loses spaces and tabs at its ends, nothing else.
    @Test func thePresentedKeyIsTrimmedOfSpacesAndTabsOnly() {
        #expect(AuthenticationMiddleware.trimmed(" \tclr_abc \t") == "clr_abc")
        #expect(AuthenticationMiddleware.trimmed("clr_a b") == "clr_a b")
        #expect(AuthenticationMiddleware.trimmed(" \t ") == "")
        #expect(AuthenticationMiddleware.trimmed("") == "")
        #expect(AuthenticationMiddleware.presentedKey([.authorization: "Bearer  clr_x\t"]) == "clr_x")
        #expect(AuthenticationMiddleware.presentedKey([.authorization: "Basic clr_x"]) == nil)
    }
}

/// Every `/api/v2/` route: gated by system roles, answered in the DALP envelope.
struct ProtectedKYCRoute: Sendable, CustomStringConvertible {
    var method: HTTPRequest.Method
    var path: String
    var roles: [Role]
    var body: String?

    var description: String { "\(method) \(path)" }

    static let reviewer: [Role] = [.claimIssuer, .identityManager]
    static let version = KYCIdentifier.version.make()
    static let user = KYCIdentifier.user.make()

    static let all: [ProtectedKYCRoute] = [
        .init(method: .post, path: "/api/v2/users", roles: [.identityManager], body: #"{"email":"a@example.com"}"#),
        .init(method: .get, path: "/api/v2/users", roles: reviewer),
        .init(method: .get, path: "/api/v2/users/\(user)", roles: reviewer),
        .init(method: .get, path: "/api/v2/kyc-profiles/\(user)", roles: reviewer),
        .init(method: .post, path: "/api/v2/kyc-profiles/\(user)/versions", roles: reviewer, body: "{}"),
        .init(method: .get, path: "/api/v2/kyc-profiles/\(user)/versions", roles: reviewer),
        .init(method: .get, path: "/api/v2/kyc-profile-versions/\(version)", roles: reviewer),
        .init(method: .patch, path: "/api/v2/kyc-profile-versions/\(version)", roles: reviewer, body: #"{"firstName":"A"}"#),
        .init(method: .post, path: "/api/v2/kyc-profile-versions/\(version)/submissions", roles: reviewer),
        .init(method: .post, path: "/api/v2/kyc-profile-versions/\(version)/approvals", roles: reviewer, body: "{}"),
        .init(method: .post, path: "/api/v2/kyc-profile-versions/\(version)/rejections", roles: reviewer, body: #"{"rejectionReason":"Long enough reason."}"#),
        .init(method: .post, path: "/api/v2/kyc-profile-versions/\(version)/update-requests", roles: reviewer, body: #"{"reason":"Long enough reason."}"#),
        .init(method: .get, path: "/api/v2/kyc-action-requests", roles: reviewer),
        .init(method: .get, path: "/api/v2/kyc-action-requests/\(KYCIdentifier.actionRequest.make())", roles: reviewer),
        .init(method: .post, path: "/api/v2/kyc-profile-versions/\(version)/documents", roles: reviewer, body: #"{"type":"other","fileName":"a.pdf","mimeType":"application/pdf","fileData":"JVBERi0="}"#),
        .init(method: .get, path: "/api/v2/kyc-profile-versions/\(version)/documents", roles: reviewer),
        .init(method: .get, path: "/api/v2/kyc-documents/\(KYCIdentifier.document.make())/content", roles: reviewer),
        .init(method: .delete, path: "/api/v2/kyc-documents/\(KYCIdentifier.document.make())", roles: reviewer),
        .init(method: .post, path: "/api/v2/kyc-profiles/\(user)/attestations", roles: reviewer),
        .init(method: .post, path: "/api/v2/kyc-signing-keys/rotations", roles: [.admin]),
        .init(method: .get, path: "/api/v2/kyc-settings", roles: reviewer),
        .init(method: .patch, path: "/api/v2/kyc-settings", roles: [.admin], body: #"{"fourEyes":true}"#),
    ]
}

@Suite("Authentication and authorization, DALP dialect")
struct KYCAccessTests {
    /// One database for all routes: a database per route costs more than the checks on PostgreSQL.
    @Test func refusedCallersGet401Or403InTheDALPEnvelopeAndChangeNothing() async throws {
        try await TestServer.with { server in
            for route in ProtectedKYCRoute.all {
                let revoked = try await server.key([], roles: route.roles)
                _ = try await APIKeyService(store: server.store).revoke(id: revoked.id, actor: "test", requestID: nil, now: Date())
                let lacking = try await server.key(
                    Privilege.allCases, roles: Role.allCases.filter { $0 != .admin && !route.roles.contains($0) })
                let allowed = try await server.key([], roles: route.roles)
                let before = try await server.kycSnapshot()
                try await server.test { client in
                    for (name, fields, status) in [
                        ("no key", headers(), HTTPResponse.Status.unauthorized),
                        ("revoked", headers(bearer: revoked.key), .unauthorized),
                        ("lacking role", headers(bearer: lacking.key), .forbidden),
                    ] {
                        var fields = fields
                        fields[.contentType] = "application/json"
                        let response = try await client.execute(
                            uri: route.path, method: route.method, headers: fields, body: route.body.map(body))
                        #expect(response.status == status, "\(name) on \(route)")
                        let data = response.json["data"] as? [String: Any]
                        #expect(data?["id"] as? String == (status == .forbidden ? "DALP-0006" : "DALP-0002"), "\(name) on \(route)")
                        #expect(response.json["status"] as? Int == Int(status.code))
                    }
                    #expect(try await server.kycSnapshot() == before, "a refused request to \(route) wrote")
                    // The role is enough: whatever the answer, it is not 401/403.
                    let response = try await client.execute(
                        uri: route.path, method: route.method, headers: headers(bearer: allowed.key), body: route.body.map(body))
                    #expect(response.status != .unauthorized && response.status != .forbidden, "\(route)")
                }
            }
        }
    }

    @Test func malformedJSONIs400DALP0001AndChangesNothing() async throws {
        try await TestServer.with { server in
            let before = try await server.kycSnapshot()
            try await server.test { client in
                for route in ProtectedKYCRoute.all where route.body != nil {
                    for text in ["{", "[1,2]", "null", #"{"name": }"#, "{'a':1}", "{\"firstName\":\"\u{01}\"}"] {
                        let response = try await client.execute(
                            uri: route.path, method: route.method, headers: headers(bearer: server.adminKey), body: body(text))
                        #expect(response.status == .badRequest, "\(route) with \(text)")
                        #expect((response.json["data"] as? [String: Any])?["id"] as? String == "DALP-0001", "\(route) with \(text)")
                    }
                }
            }
            #expect(try await server.kycSnapshot() == before)
        }
    }
}
