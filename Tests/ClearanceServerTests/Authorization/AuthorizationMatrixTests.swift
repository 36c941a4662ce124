import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

/// Every operation of the OpenAPI document, called through the router with
/// no key, a revoked and an expired key, a key of the other environment, and
/// one key per single privilege and per single role. What each should get is
/// `AuthorizationTable`, written from the spec; every refusal is checked to
/// have written nothing.
@Suite("Authorization matrix")
struct AuthorizationMatrixTests {
    /// The document's operations, each with whether it declares `security: []`
    /// and whether it requires a body: read from the document itself, so an
    /// operation added without a table entry fails the first test.
    static func documented() throws -> [String: (open: Bool, needsBody: Bool)] {
        let document = try OpenAPIDocument.load()
        let tree = try #require(try JSONSerialization.jsonObject(with: Data(document.json)) as? [String: Any])
        let paths = try #require(tree["paths"] as? [String: [String: Any]])
        var out: [String: (open: Bool, needsBody: Bool)] = [:]
        for name in document.operations {
            let parts = name.split(separator: " ", maxSplits: 1).map(String.init)
            let operation = try #require(paths[parts[1]]?[parts[0].lowercased()] as? [String: Any])
            let security = operation["security"] as? [Any]
            let body = operation["requestBody"] as? [String: Any]
            out[name] = (security?.isEmpty == true, body?["required"] as? Bool == true)
        }
        return out
    }

    @Test func theTableCoversEveryDocumentedOperationAndNothingMore() throws {
        let documented = try Self.documented()
        let tabled = Set(AuthorizationTable.rules.keys)
        #expect(Set(documented.keys).subtracting(tabled).sorted() == [], "documented operations missing from AuthorizationTable")
        #expect(tabled.subtracting(documented.keys).sorted() == [], "AuthorizationTable names operations the document lacks")
        for (operation, declared) in documented {
            guard let rule = AuthorizationTable.rules[operation] else { continue }
            let open = if case .open = rule.gate { true } else { false }
            #expect(open == declared.open, "\(operation): the table and the document's security disagree")
            if declared.needsBody {
                #expect(AuthorizationFixtures.bodies[operation] != nil, "\(operation) needs a body in AuthorizationFixtures")
            }
        }
        #expect(documented.count >= 50)
    }

    /// The API families, each in its own test so they run side by side.
    enum Family: String, CaseIterable, Sendable {
        case open, keysAuditWorkflows, sessions, webhooks, kyc

        func contains(_ operation: String) -> Bool {
            let path = String(operation.split(separator: " ", maxSplits: 1)[1])
            if case .open = AuthorizationTable.rules[operation]?.gate { return self == .open }
            switch self {
            case .open: return false
            case .kyc: return path.hasPrefix("/api/v2/")
            case .webhooks: return path.hasPrefix("/v3/webhook/") || path.hasSuffix("/webhooks/")
            case .sessions: return path.hasPrefix("/v3/session") && !path.hasSuffix("/webhooks/")
            case .keysAuditWorkflows:
                return !path.hasPrefix("/api/v2/") && !path.hasPrefix("/v3/webhook/") && !path.hasPrefix("/v3/session")
            }
        }
    }

    @Test func everyOperationIsInExactlyOneFamily() throws {
        for operation in AuthorizationTable.rules.keys {
            #expect(Family.allCases.filter { $0.contains(operation) }.count == 1, "\(operation)")
        }
    }

    @Test(arguments: Family.allCases)
    func eachGrantGetsWhatTheSpecSaysAndRefusalsWriteNothing(_ family: Family) async throws {
        let operations = AuthorizationTable.rules.keys.filter(family.contains).sorted(by: Self.order)
        try #require(!operations.isEmpty)
        try await TestServer.with { server in
            let keys = try await MatrixKeys.make(server)
            let query = try await DatabaseFingerprint.Query.prepare(server.store.database)
            try await server.test { client in
                let live = try await AuthorizationFixtures.make(.live, key: server.adminKey, client: client)
                let sandbox = try await AuthorizationFixtures.make(.sandbox, key: keys.sandboxAll, client: client)
                let caller = MatrixCaller(client: client)
                for operation in operations {
                    let rule = try #require(AuthorizationTable.rules[operation])
                    try await Self.check(
                        operation, rule, server: server, query: query, keys: keys, live: live, sandbox: sandbox, caller: caller)
                }
            }
        }
    }

    /// Reads first, then writes, deletes last, so most permitted calls meet
    /// the fixtures as they were made.
    static func order(_ a: String, _ b: String) -> Bool {
        let rank = ["GET": 0, "POST": 1, "PATCH": 2, "DELETE": 3]
        let (ma, mb) = (rank[String(a.prefix { $0 != " " })] ?? 9, rank[String(b.prefix { $0 != " " })] ?? 9)
        return ma != mb ? ma < mb : a < b
    }

    static func check(
        _ operation: String, _ rule: Rule, server: TestServer, query: DatabaseFingerprint.Query, keys: MatrixKeys,
        live: AuthorizationFixtures, sandbox: AuthorizationFixtures, caller: MatrixCaller
    ) async throws {
        let method = HTTPRequest.Method(String(operation.prefix { $0 != " " }))!
        let path = live.path(operation)
        let body = live.body(operation)
        func call(_ key: String?, _ path: String, _ body: String?) async throws -> MatrixAnswer {
            try await caller.call(method, path, key: key, body: body)
        }

        // Refusals (and, for open operations, calls that must not care about
        // keys), all inside one fingerprint.
        let before = try await server.fingerprint(query)
        var deferred: [(String, String, Reach, AuthorizationFixtures)] = []
        for (name, key) in [("no key", nil), ("revoked key", keys.revoked), ("expired key", keys.expired)] as [(String, String?)] {
            let answer = try await call(key, path, body)
            if case .open = rule.gate {
                #expect(answer.status.kind == .successful, "\(operation) with \(name): \(answer)")
            } else {
                answer.expectRefusal(.unauthorized, "\(operation) with \(name)")
            }
        }
        for (name, key, reach, fixtures) in [
            ("a sandbox key on live", keys.sandboxAll, rule.sandboxOnLive, live),
            ("a live key on sandbox", server.adminKey, rule.liveOnSandbox, sandbox),
        ] {
            if case .open = rule.gate {
                let answer = try await call(key, fixtures.path(operation), fixtures.body(operation))
                #expect(answer.status.kind == .successful, "\(operation) with \(name): \(answer)")
            } else if case .notFound = reach {
                let answer = try await call(key, fixtures.path(operation), fixtures.body(operation))
                #expect(answer.status == .notFound, "\(operation) with \(name): \(answer)")
            } else {
                deferred.append((name, key, reach, fixtures))
            }
        }
        for grant in Grant.all where !rule.gate.admits(grant) {
            let answer = try await call(keys.single[grant]!, path, body)
            answer.expectRefusal(.forbidden, "\(operation) with only \(grant)")
        }
        let after = try await server.fingerprint(query)
        #expect(after.changes(since: before) == [], "a refused \(operation) wrote")

        // Grants that suffice: judged on the request, never refused for the key.
        if case .open = rule.gate { return }
        for grant in Grant.all where rule.gate.admits(grant) {
            let answer = try await call(keys.single[grant]!, path, body)
            answer.expectAdmitted("\(operation) with only \(grant)")
        }
        for (name, key, reach, fixtures) in deferred {
            let answer = try await call(key, fixtures.path(operation), fixtures.body(operation))
            answer.expectAdmitted("\(operation) with \(name)")
            if case .ownOnly = reach {
                // The key is of the other environment than `fixtures`: none of theirs may show.
                let leaked = fixtures.ids.filter { answer.text.contains($0) }
                #expect(leaked == [], "\(operation) with \(name) named the other environment's \(leaked)")
            }
        }
    }
}

/// The keys the matrix calls with, all made once per test.
struct MatrixKeys: Sendable {
    var single: [Grant: String]
    var revoked: String
    var expired: String
    /// Sandbox, every privilege and the admin role.
    var sandboxAll: String

    static func make(_ server: TestServer) async throws -> MatrixKeys {
        var single: [Grant: String] = [:]
        for grant in Grant.all {
            switch grant {
            case .privilege(let privilege): single[grant] = try await server.key([privilege], name: "only \(grant)").key
            case .role(let role): single[grant] = try await server.key([], roles: [role], name: "only \(grant)").key
            }
        }
        let revoked = try await server.key(Privilege.allCases, roles: [.admin], name: "revoked")
        _ = try await APIKeyService(store: server.store).revoke(id: revoked.id, actor: "test", requestID: nil, now: Date())
        let expired = try await server.key(Privilege.allCases, roles: [.admin], expiresAt: Date().addingTimeInterval(-1), name: "expired")
        let sandbox = try await server.key(Privilege.allCases, roles: [.admin], environment: .sandbox, name: "sandbox")
        return MatrixKeys(single: single, revoked: revoked.key, expired: expired.key, sandboxAll: sandbox.key)
    }
}

/// One call and what came back, with the checks the matrix makes of it.
struct MatrixAnswer: CustomStringConvertible {
    var path: String
    var status: HTTPResponse.Status
    var text: String
    var json: [String: Any]

    var description: String { "\(status.code) \(text.prefix(300))" }

    /// The status, in the path's dialect (access.md; kyc-profiles.md "Errors").
    func expectRefusal(_ expected: HTTPResponse.Status, _ what: String) {
        #expect(status == expected, "\(what): \(self)")
        guard status == expected else { return }
        if path.hasPrefix("/api/v2/") {
            let id = (json["data"] as? [String: Any])?["id"] as? String
            #expect(id == (expected == .forbidden ? "DALP-0006" : "DALP-0002"), "\(what): \(self)")
        } else {
            #expect(json["code"] as? String == (expected == .forbidden ? "PERMISSION_DENIED" : "NOT_AUTHENTICATED"), "\(what): \(self)")
        }
    }

    /// Admitted: any answer but 401, 403 or a server error.
    func expectAdmitted(_ what: String) {
        #expect(status != .unauthorized && status != .forbidden && status.code < 500, "\(what): \(self)")
    }
}

struct MatrixCaller: Sendable {
    let client: any TestClientProtocol

    /// `/api/v2/` keys go as `Bearer`, `/v3/` keys as `x-api-key`: each dialect's own.
    func call(_ method: HTTPRequest.Method, _ path: String, key: String?, body text: String?) async throws -> MatrixAnswer {
        var fields = path.hasPrefix("/api/v2/") ? headers(bearer: key) : headers(key: key)
        if text != nil { fields[.contentType] = "application/json" }
        let response = try await client.execute(uri: path, method: method, headers: fields, body: text.map(body))
        return MatrixAnswer(path: path, status: response.status, text: response.text, json: response.json)
    }
}
