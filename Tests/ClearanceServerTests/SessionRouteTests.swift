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

/// Requests shared by the session suites.
extension TestClientProtocol {
    func json(
        _ method: HTTPRequest.Method, _ uri: String, key: String, _ text: String? = nil
    ) async throws -> TestResponse {
        try await execute(uri: uri, method: method, headers: headers(key: key), body: text.map(body))
    }
}

func sessionCount(_ server: TestServer) async throws -> Int {
    try await server.store.database.read { sql in
        try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("sessions")
            .first()?.decode(column: "n", as: Int.self) ?? 0
    }
}

@Suite("Sessions: create and read")
struct SessionCreateTests {
    @Test func createGetAndDecisionHaveEveryKey() async throws {
        try await TestServer.with { server in
            let workflow = try await server.workflow([.ocr, .liveness, .faceMatch, .aml])
            try await server.test { client in
                let created = try await client.json(
                    .post, "/v3/session/", key: server.adminKey,
                    #"{"workflow_id":"\#(workflow.id)","vendor_data":"user-42","callback":"https://example.com/done","callback_method":"both","metadata":{"plan":"gold"},"language":"pt-BR","contact_details":{"email":"zoe@example.com","phone":"+34600111222","email_lang":"es"},"expected_details":{"first_name":"Zoë","last_name":"Šťastná","date_of_birth":"1990-01-31","id_country":"CZE"}}"#)
                #expect(created.status == .created, "\(created.text)")
                let id = try #require(created.json["session_id"] as? String)
                #expect(created.json["status"] as? String == "Not Started")
                #expect(created.json["session_number"] as? Int == 1)
                #expect(created.json["session_kind"] as? String == "user")
                #expect(created.json["workflow_version"] as? Int == 1)
                let token = try #require(created.json["session_token"] as? String)
                #expect(created.json["url"] as? String == "http://clearance.test/verify/\(token)")
                #expect((created.json["metadata"] as? [String: Any])?["plan"] as? String == "gold")

                let fetched = try await client.json(.get, "/v3/session/\(id)/", key: server.adminKey)
                #expect(fetched.status == .ok)
                #expect(fetched.text == created.text, "GET answers what POST answered")

                let decision = try await client.json(.get, "/v3/session/\(id)/decision/", key: server.adminKey)
                #expect(decision.status == .ok)
                for key in [
                    "id_verifications", "nfc_verifications", "liveness_checks", "face_matches", "poa_verifications",
                    "phone_verifications", "email_verifications", "aml_screenings", "ip_analyses", "database_validations",
                    "questionnaire_responses", "document_ai_documents", "age_estimations", "reviews", "warnings",
                ] {
                    #expect(decision.json[key] as? [Any] != nil, "\(key) must be a list, never null")
                }
                #expect(decision.json["registry_checks"] == nil, "business arrays only on business sessions")
                #expect((decision.json["expected_details"] as? [String: Any])?["first_name"] as? String == "Zoë")
                #expect((decision.json["contact_details"] as? [String: Any])?["email"] as? String == "zoe@example.com")
                let resubmit = try #require(decision.json["resubmit_info"] as? [String: Any])
                #expect(resubmit["available_attempts"] as? Int == 3)
                #expect(resubmit["nodes"] as? [String] == [])
            }
        }
    }

    @Test func personalDataIsSealedAtRest() async throws {
        try await TestServer.with { server in
            let workflow = try await server.workflow([.ocr])
            let session = try await SessionService(store: server.store).create(
                .init(
                    workflowID: workflow.id, vendorData: "v",
                    personal: SessionPersonalData(
                        contactDetails: ["email": "unique-person@example.com"],
                        expectedDetails: ["first_name": "Philomena", "date_of_birth": "1971-03-04"])),
                principal: TestServer.principal(), requestID: nil, now: Date())
            let raw = try await server.store.database.read { sql in
                try await sql.select().column("*").from("sessions").where("session_id", .equal, session.id).first()
            }
            let row = try #require(raw)
            let sealed = try #require(try row.decode(column: "personal_sealed", as: Data?.self))
            let text = String(decoding: sealed, as: UTF8.self)
            #expect(!text.contains("Philomena") && !text.contains("1971-03-04") && !text.contains("unique-person"))
            let tokens = try row.decode(column: "search_tokens", as: String?.self) ?? ""
            #expect(!tokens.contains("philomena"))
            #expect(try await server.store.sessions.find(id: session.id, environment: .live)?.personal.expectedDetails?["first_name"] == "Philomena")
        }
    }

    @Test func vendorDataReusesAnUnfinishedSessionOfTheSameWorkflowVersion() async throws {
        try await TestServer.with { server in
            let workflow = try await server.workflow([.ocr])
            try await server.test { client in
                let body = #"{"workflow_id":"\#(workflow.id)","vendor_data":"same-user","metadata":{"n":1}}"#
                let first = try await client.json(.post, "/v3/session/", key: server.adminKey, body)
                let second = try await client.json(
                    .post, "/v3/session/", key: server.adminKey,
                    #"{"workflow_id":"\#(workflow.id)","vendor_data":"same-user","metadata":{"n":2},"callback":"https://example.com/cb"}"#)
                #expect(second.status == .created)
                #expect(second.json["session_id"] as? String == first.json["session_id"] as? String)
                #expect((second.json["metadata"] as? [String: Any])?["n"] as? Int == 2)
                #expect(second.json["callback"] as? String == "https://example.com/cb")

                // A sandbox key lives in another environment: no reuse across it.
                let sandbox = try await server.key([.writeSessions, .readSessions], environment: .sandbox)
                let other = try await client.json(.post, "/v3/session/", key: sandbox.key, body)
                #expect(other.json["session_id"] as? String != first.json["session_id"] as? String)

                // A new workflow version starts a new session.
                _ = try await WorkflowService(store: server.store).update(id: workflow.id, actor: "t", requestID: nil, now: Date()) { current in
                    .init(name: "renamed", kind: current.kind, nodes: current.nodes, settings: current.settings)
                }
                let third = try await client.json(.post, "/v3/session/", key: server.adminKey, body)
                #expect(third.json["session_id"] as? String != first.json["session_id"] as? String)
                #expect(third.json["workflow_version"] as? Int == 2)
            }
            #expect(try await sessionCount(server) == 3)
            try await expectCountsConsistent(server)
        }
    }

    @Test func anIdempotencyKeyMakesCreateSafeToRetry() async throws {
        try await TestServer.with { server in
            let workflow = try await server.workflow([.ocr])
            try await server.test { client in
                let fields = headers(key: server.adminKey, ["Idempotency-Key": "create-session-1"])
                let text = #"{"workflow_id":"\#(workflow.id)","metadata":{"try":1}}"#
                let first = try await client.execute(uri: "/v3/session/", method: .post, headers: fields, body: body(text))
                let retry = try await client.execute(uri: "/v3/session/", method: .post, headers: fields, body: body(text))
                #expect(first.status == .created && retry.status == .created)
                #expect(retry.text == first.text)
                let changed = try await client.execute(
                    uri: "/v3/session/", method: .post, headers: fields, body: body(#"{"workflow_id":"\#(workflow.id)"}"#))
                #expect(changed.status == .unprocessableContent)
            }
            #expect(try await sessionCount(server) == 1)
        }
    }

    @Test func badInputIs400NamingTheFieldAndWritesNothing() async throws {
        try await TestServer.with { server in
            let workflow = try await server.workflow([.ocr])
            let w = workflow.id
            let cases: [(String, String)] = [
                (#"{}"#, "workflow_id"),
                (#"{"workflow_id":"not-a-uuid"}"#, "workflow_id"),
                (#"{"workflow_id":"\#(UUID().uuidString)"}"#, "workflow_id"),
                (#"{"workflow_id":"\#(w)","vendor_data":""}"#, "vendor_data"),
                (#"{"workflow_id":"\#(w)","vendor_data":7}"#, "vendor_data"),
                (#"{"workflow_id":"\#(w)","callback":"ftp://x"}"#, "callback"),
                (#"{"workflow_id":"\#(w)","callback_method":"sometimes"}"#, "callback_method"),
                (#"{"workflow_id":"\#(w)","metadata":"{not json"}"#, "metadata"),
                (#"{"workflow_id":"\#(w)","language":"xx"}"#, "language"),
                (#"{"workflow_id":"\#(w)","contact_details":{"email":"nope"}}"#, "contact_details.email"),
                (#"{"workflow_id":"\#(w)","contact_details":{"email":"a@b.co\r\nBcc: x@y.z"}}"#, "contact_details.email"),
                (#"{"workflow_id":"\#(w)","contact_details":{"phone":"12"}}"#, "contact_details.phone"),
                (#"{"workflow_id":"\#(w)","contact_details":{"email_lang":"klingon"}}"#, "contact_details.email_lang"),
                (#"{"workflow_id":"\#(w)","contact_details":{"send_notification_emails":true}}"#, "contact_details.email"),
                (#"{"workflow_id":"\#(w)","contact_details":{"send_notification_emails":"yes"}}"#, "contact_details.send_notification_emails"),
                (#"{"workflow_id":"\#(w)","expected_details":{"date_of_birth":"31/01/1990"}}"#, "expected_details.date_of_birth"),
                (#"{"workflow_id":"\#(w)","expected_details":{"date_of_birth":"2999-01-01"}}"#, "expected_details.date_of_birth"),
                (#"{"workflow_id":"\#(w)","expected_details":{"nationality":"es"}}"#, "expected_details.nationality"),
                (#"{"workflow_id":"\#(w)","expected_details":{"ip_address":"999.1.1.1"}}"#, "expected_details.ip_address"),
                (#"{"workflow_id":"\#(w)","expected_details":{"first_name":"  "}}"#, "expected_details.first_name"),
                (#"{"workflow_id":"\#(w)","expected_details":{"gender":"Q"}}"#, "expected_details.gender"),
                (#"{"workflow_id":"\#(w)","portrait_image":"***"}"#, "portrait_image"),
                (#"{"workflow_id":"\#(w)","sandbox_scenario":"approve"}"#, "sandbox_scenario"),
            ]
            try await server.test { client in
                for (text, field) in cases {
                    let response = try await client.json(.post, "/v3/session/", key: server.adminKey, text)
                    #expect(response.status == .badRequest, "\(text) → \(response.status)")
                    #expect((response.json["errors"] as? [String: Any])?[field] != nil, "\(text) should name \(field): \(response.text)")
                }
            }
            #expect(try await sessionCount(server) == 0)
        }
    }

    @Test func sessionsOfTheOtherEnvironmentAre404() async throws {
        try await TestServer.with { server in
            let workflow = try await server.workflow([.ocr])
            let sandbox = try await server.key([.readSessions, .writeSessions, .deleteSessions], environment: .sandbox)
            try await server.test { client in
                let live = try await client.json(.post, "/v3/session/", key: server.adminKey, #"{"workflow_id":"\#(workflow.id)"}"#)
                let id = try #require(live.json["session_id"] as? String)
                for (method, path, text) in [
                    (HTTPRequest.Method.get, "/v3/session/\(id)/", nil as String?), (.get, "/v3/session/\(id)/decision/", nil),
                    (.patch, "/v3/session/\(id)/update-status/", #"{"new_status":"Approved"}"#),
                    (.patch, "/v3/session/\(id)/features/feature_ocr/update-status/", #"{"new_status":"Approved"}"#),
                    (.delete, "/v3/session/\(id)/delete/", nil),
                ] {
                    let response = try await client.json(method, path, key: sandbox.key, text)
                    #expect(response.status == .notFound, "\(method) \(path)")
                }
                let listed = try await client.json(.get, "/v3/sessions/", key: sandbox.key)
                #expect(listed.json["count"] as? Int == 0)
            }
            #expect(try await server.store.sessions.find(id: try #require(try await server.store.sessions.list(.init(environment: .live)).items.first?.id), environment: .live)?.status == .notStarted)
        }
    }
}

@Suite("Sessions: sandbox scenarios")
struct SandboxScenarioTests {
    static let everyUserFeature: [Feature] = [.ocr, .nfc, .liveness, .faceMatch, .proofOfAddress, .databaseValidation, .aml, .ipAnalysis]

    @Test(arguments: SandboxScenario.allCases.filter { $0 != .declineKYBRegistryMismatch })
    func aScenarioRunsToItsOutcome(_ scenario: SandboxScenario) async throws {
        try await TestServer.with { server in
            let workflow = try await server.workflow(Self.everyUserFeature)
            let sandbox = try await server.key([.readSessions, .writeSessions], environment: .sandbox)
            try await server.test { client in
                let created = try await client.json(
                    .post, "/v3/session/", key: sandbox.key,
                    #"{"workflow_id":"\#(workflow.id)","sandbox_scenario":"\#(scenario.rawValue)"}"#)
                #expect(created.status == .created, "\(created.text)")
                let expected = scenario == .approve ? "Approved" : (scenario.rawValue.hasPrefix("review_") ? "In Review" : "Declined")
                #expect(created.json["status"] as? String == expected)
                let id = try #require(created.json["session_id"] as? String)
                let decision = try await client.json(.get, "/v3/session/\(id)/decision/", key: sandbox.key)
                let reviews = try #require(decision.json["reviews"] as? [[String: Any]])
                #expect(reviews.map { $0["new_status"] as? String } == ["In Progress", expected])
                if let target = scenario.target {
                    let items = try #require(decision.json[target.feature.decisionKey] as? [[String: Any]])
                    #expect(items.first?["status"] as? String == target.status.rawValue)
                    let warnings = try #require(items.first?["warnings"] as? [[String: Any]])
                    #expect(warnings.first?["code"] as? String == target.warning.code)
                }
                #expect((decision.json["id_verifications"] as? [[String: Any]])?.first?["issuing_state"] as? String == "ESP")
            }
        }
    }

    @Test func theKYBScenarioRunsOnABusinessWorkflowAndNotOnAUserOne() async throws {
        try await TestServer.with { server in
            let business = try await server.workflow([.kybRegistry, .kybKeyPeople, .aml], kind: .business)
            let user = try await server.workflow([.ocr])
            let sandbox = try await server.key([.readSessions, .writeSessions], environment: .sandbox)
            try await server.test { client in
                let created = try await client.json(
                    .post, "/v3/session/", key: sandbox.key,
                    #"{"workflow_id":"\#(business.id)","sandbox_scenario":"decline_kyb_registry_mismatch"}"#)
                #expect(created.json["status"] as? String == "Declined")
                #expect(created.json["session_kind"] as? String == "business")
                let decision = try await client.json(.get, "/v3/session/\(try #require(created.json["session_id"] as? String))/decision/", key: sandbox.key)
                #expect((decision.json["registry_checks"] as? [[String: Any]])?.count == 1)
                #expect(decision.json["key_people_checks"] as? [Any] != nil)
                let refused = try await client.json(
                    .post, "/v3/session/", key: sandbox.key,
                    #"{"workflow_id":"\#(user.id)","sandbox_scenario":"decline_kyb_registry_mismatch"}"#)
                #expect(refused.status == .badRequest)
                #expect((refused.json["errors"] as? [String: Any])?["sandbox_scenario"] != nil)
                let listed = try await client.json(.get, "/v3/sessions/?session_kind=business", key: sandbox.key)
                #expect(listed.json["count"] as? Int == 1)
                #expect(try await client.json(.get, "/v3/sessions/?session_kind=business&status=Declined", key: sandbox.key).json["count"] as? Int == 1)
                #expect(try await client.json(.get, "/v3/sessions/?status=Declined", key: sandbox.key).json["count"] as? Int == 0)
            }
        }
    }
}
