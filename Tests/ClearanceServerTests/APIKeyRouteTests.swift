import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

@Suite("API keys over the API")
struct APIKeyRouteTests {
    @Test func createUseListAndRevoke() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let created = try await client.execute(
                    uri: "/v3/api-keys/", method: .post, headers: headers(key: server.adminKey),
                    body: body(#"{"name":"auditor","environment":"sandbox","privileges":["read:audit"],"expires_at":"2999-01-01T00:00:00Z"}"#))
                #expect(created.status == .created)
                let key = try #require(created.json["key"] as? String)
                let id = try #require(created.json["id"] as? String)
                #expect(key.hasPrefix("clr_sandbox_"))
                #expect(created.json["environment"] as? String == "sandbox")
                #expect(created.json["privileges"] as? [String] == ["read:audit"])
                #expect(created.json["expires_at"] as? String == "2999-01-01T00:00:00.000Z")

                let used = try await client.execute(uri: "/v3/audit/", method: .get, headers: headers(key: key))
                #expect(used.status == .ok)
                let refused = try await client.execute(uri: "/v3/api-keys/", method: .get, headers: headers(key: key))
                #expect(refused.status == .forbidden)

                let listed = try await client.execute(uri: "/v3/api-keys/", method: .get, headers: headers(key: server.adminKey))
                #expect(listed.status == .ok)
                #expect(!listed.text.contains(key), "a listing must never show a key")
                let results = try #require(listed.json["results"] as? [[String: Any]])
                #expect(results.count == 2)
                #expect(results.allSatisfy { $0["key"] == nil })

                let revoked = try await client.execute(uri: "/v3/api-keys/\(id)/", method: .delete, headers: headers(key: server.adminKey))
                #expect(revoked.status == .noContent)
                let after = try await client.execute(uri: "/v3/audit/", method: .get, headers: headers(key: key))
                #expect(after.status == .unauthorized)

                let trail = try await client.execute(uri: "/v3/audit/?subject_id=\(id)", method: .get, headers: headers(key: server.adminKey))
                let entries = try #require(trail.json["results"] as? [[String: Any]])
                #expect(entries.map { $0["action"] as? String } == ["api_key.created", "api_key.revoked"])
                #expect(entries.allSatisfy { ($0["request_id"] as? String)?.isEmpty == false })
                #expect(!trail.text.contains(key))
            }
            #expect(try await server.store.audit.verify().isIntact)
        }
    }

    /// Found by the authorization matrix: a sandbox key with admin:keys could
    /// list and revoke live keys and mint a live admin key, reaching live data.
    @Test func aSandboxKeyManagesSandboxKeysOnly() async throws {
        try await TestServer.with { server in
            let sandbox = try await server.key([.adminKeys], environment: .sandbox, name: "sandbox keys")
            let liveVictim = try await server.key([.readAudit], name: "live victim")
            let before = try await server.store.apiKeys.list()
            let query = try await DatabaseFingerprint.Query.prepare(server.store.database)
            let unchanged = try await server.fingerprint(query)
            try await server.test { client in
                let live = try await client.execute(
                    uri: "/v3/api-keys/", method: .post, headers: headers(key: sandbox.key),
                    body: body(#"{"name":"escalate","environment":"live","roles":["admin"]}"#))
                #expect(live.status == .forbidden)
                #expect(live.json["code"] as? String == "PERMISSION_DENIED")
                let revoke = try await client.execute(
                    uri: "/v3/api-keys/\(liveVictim.id)/", method: .delete, headers: headers(key: sandbox.key))
                #expect(revoke.status == .notFound)
                #expect(try await server.fingerprint(query).changes(since: unchanged) == [], "a refused request wrote")

                let listed = try await client.execute(uri: "/v3/api-keys/", method: .get, headers: headers(key: sandbox.key))
                let environments = (listed.json["results"] as? [[String: Any]] ?? []).compactMap { $0["environment"] as? String }
                #expect(environments == ["sandbox"] && listed.json["count"] as? Int == 1)

                // Without an environment, a key is made in the caller's own.
                let own = try await client.execute(
                    uri: "/v3/api-keys/", method: .post, headers: headers(key: sandbox.key),
                    body: body(#"{"name":"mine","privileges":["read:audit"]}"#))
                #expect(own.status == .created && own.json["environment"] as? String == "sandbox")
                let byLive = try await client.execute(
                    uri: "/v3/api-keys/", method: .post, headers: headers(key: server.adminKey),
                    body: body(#"{"name":"default","privileges":["read:audit"]}"#))
                #expect(byLive.json["environment"] as? String == "live")

                // A live key manages both: it mints and revokes sandbox keys.
                let sandboxID = try #require(own.json["id"] as? String)
                let revokedByLive = try await client.execute(
                    uri: "/v3/api-keys/\(sandboxID)/", method: .delete, headers: headers(key: server.adminKey))
                #expect(revokedByLive.status == .noContent)
                let all = try await client.execute(uri: "/v3/api-keys/", method: .get, headers: headers(key: server.adminKey))
                #expect(all.json["count"] as? Int == before.count + 2)
            }
        }
    }

    @Test func invalidFieldsAreNamedAndNothingIsWritten() async throws {
        try await TestServer.with { server in
            let before = try await server.store.apiKeys.list().count
            try await server.test { client in
                let cases: [(String, String)] = [
                    (#"{"privileges":["read:audit"]}"#, "name"),
                    (#"{"name":"  ","privileges":["read:audit"]}"#, "name"),
                    (#"{"name":5}"#, "name"),
                    (#"{"name":"n","environment":"prod","privileges":["read:audit"]}"#, "environment"),
                    (#"{"name":"n","environment":null,"privileges":["read:audit"]}"#, "environment"),
                    (#"{"name":"n","privileges":["read:audit"],"roles":null}"#, "roles"),
                    (#"{"name":"n","privileges":["read:everything"]}"#, "privileges[0]"),
                    (#"{"name":"n","privileges":"read:audit"}"#, "privileges"),
                    (#"{"name":"n","roles":["root"]}"#, "roles[0]"),
                    (#"{"name":"n"}"#, "privileges"),
                    (#"{"name":"n","privileges":["read:audit"],"expires_at":"soon"}"#, "expires_at"),
                    (#"{"name":"n","privileges":["read:audit"],"expires_at":"2001-01-01T00:00:00Z"}"#, "expires_at"),
                ]
                for (text, field) in cases {
                    let response = try await client.execute(
                        uri: "/v3/api-keys/", method: .post, headers: headers(key: server.adminKey), body: body(text))
                    #expect(response.status == .badRequest, "\(text)")
                    let errors = response.json["errors"] as? [String: Any]
                    #expect(errors?[field] != nil, "\(text) should name \(field), got \(response.text)")
                }
            }
            #expect(try await server.store.apiKeys.list().count == before)
        }
    }

    @Test func revokingUnknownOrMalformedIdsIs404Or400() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let unknown = try await client.execute(
                    uri: "/v3/api-keys/\(UUID().uuidString)/", method: .delete, headers: headers(key: server.adminKey))
                #expect(unknown.status == .notFound)
                let malformed = try await client.execute(
                    uri: "/v3/api-keys/not-a-uuid/", method: .delete, headers: headers(key: server.adminKey))
                #expect(malformed.status == .badRequest)
                #expect((malformed.json["errors"] as? [String: Any])?["key_id"] != nil)
            }
        }
    }

    @Test func pathsWorkWithAndWithoutTheTrailingSlash() async throws {
        try await TestServer.with { server in
            try await server.test(.live) { client in
                for path in ["/v3/api-keys/", "/v3/api-keys", "/v3/audit", "/v3/audit/?limit=1"] {
                    let response = try await client.execute(uri: path, method: .get, headers: headers(key: server.adminKey))
                    #expect(response.status == .ok, "\(path)")
                }
            }
        }
    }

    @Test func paginationLinksAreAbsoluteAndBounded() async throws {
        try await TestServer.with { server in
            for index in 0..<3 { _ = try await server.key([.readAudit], name: "k\(index)") }
            try await server.test { client in
                let first = try await client.execute(uri: "/v3/api-keys/?limit=2", method: .get, headers: headers(key: server.adminKey))
                #expect(first.json["count"] as? Int == 4)
                #expect(first.json["next"] as? String == "http://clearance.test/v3/api-keys/?limit=2&offset=2")
                #expect(first.json["previous"] is NSNull)
                let second = try await client.execute(uri: "/v3/api-keys/?limit=2&offset=2", method: .get, headers: headers(key: server.adminKey))
                #expect(second.json["next"] is NSNull)
                #expect(second.json["previous"] as? String == "http://clearance.test/v3/api-keys/?limit=2&offset=0")
                for bad in ["limit=0", "limit=101", "limit=x", "offset=-1"] {
                    let response = try await client.execute(uri: "/v3/api-keys/?\(bad)", method: .get, headers: headers(key: server.adminKey))
                    #expect(response.status == .badRequest, "\(bad)")
                }
            }
        }
    }
}

@Suite("Idempotency-Key")
struct IdempotencyTests {
    @Test func aRepeatReplaysTheFirstAnswerAndCreatesNothingNew() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let request = #"{"name":"once","privileges":["read:audit"]}"#
                let fields = headers(key: server.adminKey, ["Idempotency-Key": "create-once-1"])
                let first = try await client.execute(uri: "/v3/api-keys/", method: .post, headers: fields, body: body(request))
                let second = try await client.execute(uri: "/v3/api-keys/", method: .post, headers: fields, body: body(request))
                #expect(first.status == .created)
                #expect(second.status == .created)
                #expect(second.text == first.text)
                #expect(second.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")

                let other = try await client.execute(
                    uri: "/v3/api-keys/", method: .post, headers: fields, body: body(#"{"name":"twice","privileges":["read:audit"]}"#))
                #expect(other.status == .unprocessableContent)
                #expect(other.json["code"] as? String == "IDEMPOTENCY_KEY_REUSED")
            }
            #expect(try await server.store.apiKeys.list().filter { $0.name == "once" }.count == 1)
            #expect(try await server.store.apiKeys.list().filter { $0.name == "twice" }.isEmpty)
            // The stored answer holds the new key's secret: sealed at rest.
            let stored = try await server.store.database.read { sql in
                try await sql.raw("SELECT response_body FROM idempotency_keys WHERE idempotency_key = 'create-once-1'").first()?
                    .decode(column: "response_body", as: Data?.self)
            }
            let storedBody = try #require(stored)
            #expect(!storedBody.isEmpty && String(decoding: storedBody, as: UTF8.self).range(of: "clr_") == nil)
        }
    }

    @Test func aKeyStillRunningIs409() async throws {
        try await TestServer.with { server in
            let admin = try #require(try await server.store.apiKeys.list().first { $0.name == "admin" })
            let request = #"{"name":"slow","privileges":["read:audit"]}"#
            // The same request, still running elsewhere: what a concurrent duplicate sees.
            let claim = IdempotencyClaim(
                principalID: "key:\(admin.id)", key: "busy",
                requestHash: IdempotencyMiddleware.fingerprint(method: "POST", uri: "/v3/api-keys/", body: body(request)),
                now: Date())
            #expect(try await server.store.idempotency.begin(claim) == .proceed)
            try await server.test { client in
                let response = try await client.execute(
                    uri: "/v3/api-keys/", method: .post, headers: headers(key: server.adminKey, ["Idempotency-Key": "busy"]),
                    body: body(request))
                #expect(response.status == .conflict)
                #expect(response.json["code"] as? String == "IDEMPOTENCY_IN_PROGRESS")
            }
            #expect(try await server.store.apiKeys.list().filter { $0.name == "slow" }.isEmpty, "the duplicate ran nothing")
        }
    }

    @Test func anErrorIsNotStoredSoACorrectedRequestMayReuseTheKey() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let fields = headers(key: server.adminKey, ["Idempotency-Key": "fix-me"])
                let bad = try await client.execute(uri: "/v3/api-keys/", method: .post, headers: fields, body: body(#"{"name":""}"#))
                #expect(bad.status == .badRequest)
                let good = try await client.execute(
                    uri: "/v3/api-keys/", method: .post, headers: fields, body: body(#"{"name":"fixed","privileges":["read:audit"]}"#))
                #expect(good.status == .created)
            }
        }
    }

    @Test func concurrentDuplicatesRunOnce() async throws {
        try await TestServer.with { server in
            try await server.test(.ahc()) { client in
                let request = #"{"name":"race","privileges":["read:audit"]}"#
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            try await client.execute(
                                uri: "/v3/api-keys/", method: .post,
                                headers: headers(key: server.adminKey, ["Idempotency-Key": "race-1"]), body: body(request)
                            ).status
                        }
                    }
                    return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
                }
                #expect(statuses.allSatisfy { $0 == .created || $0 == .conflict }, "\(statuses)")
            }
            #expect(try await server.store.apiKeys.list().filter { $0.name == "race" }.count == 1)
        }
    }
}
