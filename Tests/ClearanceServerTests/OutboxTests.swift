import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

@Suite("Webhook outbox")
struct OutboxTests {
    func destination(_ server: TestServer, _ url: String, _ events: [WebhookEventType], enabled: Bool = true, environment: KeyEnvironment = .live) async throws -> String {
        try await WebhookDestinationService(store: server.store).create(
            label: "t", url: url, enabled: enabled, events: events, principal: TestServer.principal(environment),
            requestID: nil, now: Date()
        ).id
    }

    @Test func everyChangeWritesItsEventAndOneDeliveryPerSubscribedDestination() async throws {
        try await TestServer.with { server in
            let statusHook = try await destination(server, "https://93.184.216.34/status", [.statusUpdated])
            let dataHook = try await destination(server, "https://93.184.216.34/data", [.dataUpdated])
            _ = try await destination(server, "https://93.184.216.34/off", [.statusUpdated, .dataUpdated], enabled: false)
            _ = try await destination(server, "https://93.184.216.34/sandbox", [.statusUpdated], environment: .sandbox)
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.ocr, .liveness])
            var session = try await driver.create(workflow)
            session = try await driver.report(session, "feature_ocr", .approved, data: ["first_name": "Zoë"])
            session = try await driver.report(session, "feature_liveness", .approved)
            #expect(session.status == .approved)

            let events = try await server.store.outbox.events(sessionID: session.id)
            #expect(events.map(\.type) == [.dataUpdated, .statusUpdated, .dataUpdated, .statusUpdated])
            #expect(events.map(\.sequence) == [1, 2, 3, 4], "sequence grows by one per session event")
            for event in events {
                let deliveries = try await server.store.outbox.deliveries(eventID: event.id)
                #expect(deliveries.map(\.destinationID) == [event.type == .statusUpdated ? statusHook : dataHook])
                #expect(deliveries.allSatisfy { $0.status == "pending" })
            }
            let approved = try #require(try await server.store.outbox.event(id: events[3].id).event)
            #expect(approved.payload["status"] == "Approved")
            #expect(approved.payload["previous_status"] == "In Progress")
            #expect(approved.payload["sequence"] == .int(4))
            #expect(approved.payload["environment"] == "live")
            #expect(approved.payload["event_id"] == .string(approved.id))
            if case .int = approved.payload["timestamp"] {} else { Issue.record("timestamp must be integer seconds") }
            let decision = try #require(approved.payload["decision"])
            #expect(decision["status"] == "Approved")
            #expect(decision["id_verifications"]?.canonicalText.contains("Zoë") == true)
            let progress = try #require(try await server.store.outbox.event(id: events[1].id).event)
            #expect(progress.payload["decision"] == nil, "decision only for Approved, Declined, In Review")
        }
    }

    @Test func aRefusedChangeWritesNoEventAndDeletionShredsPayloads() async throws {
        try await TestServer.with { server in
            _ = try await destination(server, "https://93.184.216.34/status", [.statusUpdated])
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.ocr])
            let session = try await driver.decided(workflow, .inReview)
            let before = try await server.store.outbox.events(sessionID: session.id).count
            try await server.test { client in
                let refused = try await client.json(
                    .patch, "/v3/session/\(session.id)/update-status/", key: server.adminKey, #"{"new_status":"Expired"}"#)
                #expect(refused.status == .badRequest)
                let same = try await client.json(
                    .patch, "/v3/session/\(session.id)/update-status/", key: server.adminKey, #"{"new_status":"In Review"}"#)
                #expect(same.status == .ok)
            }
            let events = try await server.store.outbox.events(sessionID: session.id)
            #expect(events.count == before, "no event for a refused or same-status change")
            #expect(!events.isEmpty && events.allSatisfy { $0.type == .statusUpdated }, "no row for an event nobody subscribed to")
            let subscribed = try #require(events.last { $0.type == .statusUpdated })
            #expect(try await server.store.outbox.event(id: subscribed.id).event != nil)
            #expect(try await SessionService(store: server.store).delete(id: session.id, principal: driver.principal, requestID: nil, now: Date()))
            let shredded = try await server.store.outbox.event(id: try #require(events.last).id)
            #expect(shredded.event == nil && shredded.shredded, "a deleted session's queued payloads cannot be read")
        }
    }
}
