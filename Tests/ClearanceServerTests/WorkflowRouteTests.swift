import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

@Suite("Workflows")
struct WorkflowRouteTests {
    @Test func createReadAndVersion() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let admin = headers(key: server.adminKey)
                let created = try await client.execute(
                    uri: "/v3/workflows/", method: .post, headers: admin,
                    body: body(#"{"name":" Retail KYC ","nodes":[{"feature":"ID_VERIFICATION"},{"feature":"FACE"},{"feature":"FACE_MATCH"},{"node_id":"screening","feature":"AML","settings":{"fuzzy":true}}],"settings":{"four_eyes":true,"session_ttl_hours":24}}"#))
                #expect(created.status == .created, "\(created.text)")
                let id = try #require(created.json["workflow_id"] as? String)
                #expect(created.json["name"] as? String == "Retail KYC")
                #expect(created.json["kind"] as? String == "user")
                #expect(created.json["version"] as? Int == 1)
                let nodes = try #require(created.json["nodes"] as? [[String: Any]])
                #expect(nodes.map { $0["node_id"] as? String } == ["feature_ocr", "feature_liveness", "feature_face_match", "screening"])
                #expect(nodes.map { $0["feature"] as? String } == ["OCR", "LIVENESS", "FACE_MATCH", "AML"])
                let settings = try #require(created.json["settings"] as? [String: Any])
                #expect(settings["four_eyes"] as? Bool == true)
                #expect(settings["session_ttl_hours"] as? Int == 24)
                #expect(settings["max_resubmit_attempts"] as? Int == 3)
                #expect(settings["minimum_age"] as? Int == 18)

                let patched = try await client.execute(
                    uri: "/v3/workflows/\(id)/", method: .patch, headers: admin,
                    body: body(#"{"settings":{"max_resubmit_attempts":1}}"#))
                #expect(patched.status == .ok)
                #expect(patched.json["version"] as? Int == 2)
                #expect((patched.json["settings"] as? [String: Any])?["four_eyes"] as? Bool == true, "settings merge")

                let same = try await client.execute(
                    uri: "/v3/workflows/\(id)/", method: .patch, headers: admin,
                    body: body(#"{"settings":{"max_resubmit_attempts":1}}"#))
                #expect(same.json["version"] as? Int == 2, "an identical change publishes nothing")

                let current = try await client.execute(uri: "/v3/workflows/\(id)", method: .get, headers: admin)
                #expect(current.json["version"] as? Int == 2)
                let first = try await client.execute(uri: "/v3/workflows/\(id)/?version=1", method: .get, headers: admin)
                #expect((first.json["settings"] as? [String: Any])?["max_resubmit_attempts"] as? Int == 3)
                let missing = try await client.execute(uri: "/v3/workflows/\(id)/?version=9", method: .get, headers: admin)
                #expect(missing.status == .notFound)

                let listed = try await client.execute(uri: "/v3/workflows/", method: .get, headers: admin)
                #expect(listed.json["count"] as? Int == 1)

                let trail = try await client.execute(uri: "/v3/audit/?subject_id=\(id)", method: .get, headers: admin)
                let actions = (trail.json["results"] as? [[String: Any]])?.map { $0["action"] as? String }
                #expect(actions == ["workflow.created", "workflow.updated"])
            }
        }
    }

    @Test func invalidWorkflowsNameTheFieldAndWriteNothing() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let admin = headers(key: server.adminKey)
                let cases: [(String, String)] = [
                    (#"{"name":"x","nodes":[{"feature":"FACE_MATCH"},{"feature":"OCR"}]}"#, "nodes[0].feature"),
                    (#"{"name":"x","nodes":[{"feature":"SELFIE"}]}"#, "nodes[0].feature"),
                    (#"{"name":"x","nodes":[]}"#, "nodes"),
                    (#"{"name":"x"}"#, "nodes"),
                    (#"{"name":"","nodes":[{"feature":"OCR"}]}"#, "name"),
                    (#"{"name":"x","kind":"company","nodes":[{"feature":"OCR"}]}"#, "kind"),
                    (#"{"name":"x","kind":"business","nodes":[{"feature":"OCR"}]}"#, "nodes[0].feature"),
                    (#"{"name":"x","nodes":[{"feature":"OCR"},{"feature":"KYB_DOCUMENTS"}]}"#, "nodes[1].feature"),
                    (#"{"name":"x","nodes":[{"feature":"OCR"}],"settings":{"session_ttl_hours":0}}"#, "settings.session_ttl_hours"),
                    (#"{"name":"x","nodes":[{"feature":"OCR"}],"settings":{"four_eyes":"yes"}}"#, "settings.four_eyes"),
                    (#"{"name":"x","nodes":[{"feature":"OCR"}],"settings":{"colour":"red"}}"#, "settings.colour"),
                    (#"{"name":"x","nodes":[{"feature":"OCR"}],"settings":[]}"#, "settings"),
                    (#"{"name":"x","nodes":[{"feature":7}]}"#, "nodes[0].feature"),
                    // Found by schemathesis: an explicit null was taken for "absent".
                    (#"{"name":"x","nodes":[{"feature":"OCR","node_id":null}]}"#, "nodes[0].node_id"),
                    (#"{"name":"x","nodes":[{"feature":"OCR","settings":null}]}"#, "nodes[0].settings"),
                ]
                for (text, field) in cases {
                    let response = try await client.execute(uri: "/v3/workflows/", method: .post, headers: admin, body: body(text))
                    #expect(response.status == .badRequest, "\(text)")
                    #expect((response.json["errors"] as? [String: Any])?[field] != nil, "\(text) should name \(field): \(response.text)")
                }
                let listed = try await client.execute(uri: "/v3/workflows/", method: .get, headers: admin)
                #expect(listed.json["count"] as? Int == 0)
            }
        }
    }

    @Test func patchRefusesKindChangesAndBadNodesWithoutANewVersion() async throws {
        try await TestServer.with { server in
            let workflow = try await WorkflowService(store: server.store).create(
                .init(name: "w", kind: .user, nodes: [WorkflowNode(nodeID: "feature_ocr", feature: .ocr)], settings: .init()),
                actor: "test", requestID: nil, now: Date())
            try await server.test { client in
                let admin = headers(key: server.adminKey)
                for (text, field) in [
                    (#"{"kind":"business"}"#, "kind"), (#"{"nodes":[{"feature":"NFC"}]}"#, "nodes[0].feature"),
                    (#"{"settings":{"minimum_age":500}}"#, "settings.minimum_age"),
                ] {
                    let response = try await client.execute(uri: "/v3/workflows/\(workflow.id)/", method: .patch, headers: admin, body: body(text))
                    #expect(response.status == .badRequest)
                    #expect((response.json["errors"] as? [String: Any])?[field] != nil, "\(response.text)")
                }
                let unknown = try await client.execute(uri: "/v3/workflows/\(UUID().uuidString)/", method: .patch, headers: admin, body: body(#"{"name":"n"}"#))
                #expect(unknown.status == .notFound)
                let malformed = try await client.execute(uri: "/v3/workflows/nope/", method: .get, headers: admin)
                #expect(malformed.status == .badRequest)
            }
            #expect(try await server.store.workflows.find(id: workflow.id, version: nil)?.version == 1)
        }
    }

    @Test func theDefaultWorkflowIsSeededOnce() async throws {
        try await TestServer.with { server in
            let service = WorkflowService(store: server.store)
            let first = try await service.seedDefault(now: Date())
            let second = try await service.seedDefault(now: Date())
            #expect(first == second)
            let (total, items) = try await server.store.workflows.list(limit: 10, offset: 0)
            #expect(total == 1)
            #expect(items.first?.isDefault == true)
            #expect(items.first?.nodes.map(\.feature) == [.ocr, .liveness, .faceMatch, .aml, .ipAnalysis])
        }
    }
}
