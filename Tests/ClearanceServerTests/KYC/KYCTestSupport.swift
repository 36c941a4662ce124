import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SQLKit
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

/// A DALP answer: status and the parsed body.
struct DALPAnswer {
    var status: HTTPResponse.Status
    var json: [String: Any]
    var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
    var dalpID: String? { data["id"] as? String }
    var issuePaths: [String] { (data["issues"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String } }
}

/// Talks to the router in process with one key.
struct KYCCaller: Sendable {
    let client: any TestClientProtocol
    let key: String

    @discardableResult
    func call(_ method: HTTPRequest.Method, _ path: String, _ body: String? = nil, key: String? = nil) async throws -> DALPAnswer {
        var fields = headers(bearer: key ?? self.key)
        fields[.contentType] = "application/json"
        let response = try await client.execute(uri: path, method: method, headers: fields, body: body.map(ClearanceServerTests.body))
        return DALPAnswer(status: response.status, json: response.json)
    }

    func json(_ value: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
    }

    nonisolated(unsafe) static let person: [String: Any] = [
        "firstName": "Ada", "lastName": "Lovelace", "dob": "1990-12-10", "country": "GB",
        "residencyStatus": "resident", "nationalId": "QQ123456C",
    ]

    func createUser(email: String = "ada@example.com", externalId: String? = nil) async throws -> String {
        var body: [String: Any] = ["email": email]
        if let externalId { body["externalId"] = externalId }
        let answer = try await call(.post, "/api/v2/users", json(body))
        #expect(answer.status == .created, "\(answer.json)")
        return try #require(answer.data["id"] as? String)
    }

    func createDraft(_ userID: String, data: [String: Any] = person, overwrite: Bool = false) async throws -> DALPAnswer {
        try await call(.post, "/api/v2/kyc-profiles/\(userID)/versions", json(["initialData": data, "overwriteDraft": overwrite]))
    }

    /// A user with one version under review; answers (userId, versionId).
    func underReview(data: [String: Any] = person, email: String = "ada@example.com") async throws -> (String, String) {
        let userID = try await createUser(email: email)
        let draft = try await createDraft(userID, data: data)
        #expect(draft.status == .created, "\(draft.json)")
        let versionID = try #require(draft.data["id"] as? String)
        let submitted = try await call(.post, "/api/v2/kyc-profile-versions/\(versionID)/submissions")
        #expect(submitted.status == .ok, "\(submitted.json)")
        return (userID, versionID)
    }

    func profile(_ userID: String) async throws -> [String: Any] {
        try await call(.get, "/api/v2/kyc-profiles/\(userID)").data
    }

    func version(_ versionID: String) async throws -> [String: Any] {
        try await call(.get, "/api/v2/kyc-profile-versions/\(versionID)").data
    }
}

extension TestServer {
    /// A key holding `roles` and no privileges.
    func roleKey(_ roles: [Role], environment: KeyEnvironment = .live, name: String = "reviewer") async throws -> String {
        try await key([], roles: roles, environment: environment, name: name).key
    }

    func kyc<T: Sendable>(_ body: @Sendable (KYCCaller) async throws -> T) async throws -> T {
        let key = try await roleKey([.identityManager, .claimIssuer])
        return try await test { client in try await body(KYCCaller(client: client, key: key)) }
    }

    /// Every KYC row, the audit trail's length and the outbox: what "nothing
    /// changed" is checked against.
    func kycSnapshot() async throws -> String {
        try await store.database.read { sql in
            var out: [String] = []
            for (table, order) in [
                ("kyc_users", "id"), ("kyc_versions", "id"), ("kyc_action_requests", "id"), ("kyc_documents", "id"),
                ("settings", "key"),
            ] {
                for row in try await sql.raw("SELECT * FROM \(ident: table) ORDER BY \(ident: order)").all() {
                    var cells: [String] = []
                    for column in row.allColumns.sorted() {
                        if let text = try? row.decode(column: column, as: String?.self) {
                            cells.append("\(column)=\(text ?? "nil")")
                        } else if let number = try? row.decode(column: column, as: Int64.self) {
                            cells.append("\(column)=\(number)")
                        } else if let bytes = try? row.decode(column: column, as: Data.self) {
                            cells.append("\(column)=\(bytes.base64EncodedString())")
                        }
                    }
                    out.append("\(table): " + cells.joined(separator: ","))
                }
            }
            for table in ["audit_log", "webhook_events"] {
                let n = try await sql.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()?.decode(column: "n", as: Int.self) ?? -1
                out.append("\(table) count \(n)")
            }
            return out.joined(separator: "\n")
        }
    }
}
