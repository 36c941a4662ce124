import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ClearanceServer
import ClearanceTestSupport

@Suite("System routes")
struct SystemRouteTests {
    @Test(arguments: ["/health", "/system/healthcheck"])
    func healthAnswersOkWithATimestamp(_ path: String) async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .ok)
                #expect(response.json["status"] as? String == "ok")
                let timestamp = try #require(response.json["timestamp"] as? String)
                #expect(ISO8601DateFormatter().date(from: timestamp.replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)) != nil)
            }
        }
    }

    /// A known path with a method the document does not declare: 405 with
    /// `Allow`, in the path's dialect, before authentication and nothing run.
    @Test func anUndeclaredMethodIs405WithAllow() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let trace = try await client.execute(uri: "/health", method: .init("TRACE")!)
                #expect(trace.status == .methodNotAllowed)
                #expect(trace.headers[.allow] == "GET")
                let put = try await client.execute(uri: "/v3/api-keys/", method: .put, headers: headers(key: server.adminKey))
                #expect(put.status == .methodNotAllowed)
                #expect(put.headers[.allow] == "GET, POST")
                #expect(put.json["code"] as? String == "METHOD_NOT_ALLOWED")
                let sessionID = UUID().uuidString.lowercased()
                let post = try await client.execute(uri: "/v3/session/\(sessionID)/decision/", method: .post)
                #expect(post.status == .methodNotAllowed, "no key needed to learn the method is wrong")
                let dalp = try await client.execute(uri: "/api/v2/users", method: .delete)
                #expect(dalp.status == .methodNotAllowed)
                #expect((dalp.json["data"] as? [String: Any])?["id"] as? String == "DALP-0005")
                let head = try await client.execute(uri: "/health", method: .head)
                #expect(head.status == .methodNotAllowed, "HEAD is not declared either")
                let unknown = try await client.execute(uri: "/no/such/path", method: .put)
                #expect(unknown.status == .notFound)
            }
        }
    }

    @Test func healthIs503WhenTheDatabaseIsUnreachable() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                await server.store.database.close()
                let response = try await client.execute(uri: "/health", method: .get)
                #expect(response.status == .serviceUnavailable)
                #expect(response.json["status"] as? String == "unavailable")
            }
        }
    }

    @Test func everyResponseCarriesARequestID() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let generated = try await client.execute(uri: "/health", method: .get)
                let id = try #require(generated.headers[HTTPField.Name("x-request-id")!])
                #expect(UUID(uuidString: id) != nil)

                let echoed = try await client.execute(
                    uri: "/v3/api-keys/", method: .get, headers: headers(["x-request-id": "trace-abc-123"]))
                #expect(echoed.status == .unauthorized)
                #expect(echoed.headers[HTTPField.Name("x-request-id")!] == "trace-abc-123")
                #expect(echoed.json["request_id"] as? String == "trace-abc-123")

                let unsafe = try await client.execute(
                    uri: "/health", method: .get, headers: headers(["x-request-id": String(repeating: "x", count: 300)]))
                #expect(unsafe.headers[HTTPField.Name("x-request-id")!]?.count == 36)
            }
        }
    }

    @Test func metricsCountRequestsPerRoute() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                _ = try await client.execute(uri: "/health", method: .get)
                _ = try await client.execute(uri: "/v3/api-keys/", method: .get)
                let response = try await client.execute(uri: "/metrics", method: .get)
                #expect(response.status == .ok)
                #expect(response.text.contains(#"clearance_http_requests_total{method="GET",route="/health",status="200"} 1"#))
                #expect(response.text.contains(#"clearance_http_requests_total{method="GET",route="/v3/api-keys",status="401"} 1"#))
                #expect(response.text.contains("clearance_http_request_duration_seconds_bucket"))
            }
        }
    }

    @Test func unknownPathsAnswerInTheirDialect() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let sessions = try await client.execute(uri: "/v3/nothing-here/", method: .get)
                #expect(sessions.status == .notFound)
                #expect(sessions.json["code"] as? String == "NOT_FOUND")
                #expect(sessions.json["detail"] != nil)

                let kyc = try await client.execute(uri: "/api/v2/nothing-here", method: .get)
                #expect(kyc.status == .notFound)
                #expect(kyc.json["status"] as? Int == 404)
                let data = try #require(kyc.json["data"] as? [String: Any])
                #expect((data["id"] as? String)?.hasPrefix("DALP-") == true)
                #expect(data["requestId"] as? String == kyc.headers[HTTPField.Name("x-request-id")!])
                #expect(data["retryable"] as? Bool == false)
            }
        }
    }
}

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test func theDocumentAndTheRouterNameTheSameOperations() async throws {
        try await TestServer.with { server in
            let router = try buildRouter(server.environment)
            let routed = Set(router.routes.map { "\($0.method.rawValue) \(OpenAPIDocument.normalize($0.path.description))" })
            let document = try OpenAPIDocument.load()
            let documented = Set(document.operations.map { operation -> String in
                let parts = operation.split(separator: " ", maxSplits: 1)
                return "\(parts[0]) \(OpenAPIDocument.normalize(String(parts[1])))"
            })
            #expect(routed.subtracting(documented).sorted() == [], "routes missing from openapi.yaml")
            #expect(documented.subtracting(routed).sorted() == [], "documented operations with no route")
            #expect(routed.count >= 7)
        }
    }

    @Test func theDocumentIsServedAsJSON() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let response = try await client.execute(uri: "/openapi.json", method: .get)
                #expect(response.status == .ok)
                #expect(response.json["openapi"] as? String == "3.1.0")
                let paths = try #require(response.json["paths"] as? [String: Any])
                #expect(paths["/v3/api-keys/"] != nil)
            }
        }
    }

    @Test func normalizingTreatsBothParameterSpellingsAlike() {
        #expect(OpenAPIDocument.normalize("/v3/api-keys/:key_id/") == OpenAPIDocument.normalize("/v3/api-keys/{key_id}/"))
        #expect(OpenAPIDocument.normalize("/v3/audit/") == "/v3/audit")
    }
}
