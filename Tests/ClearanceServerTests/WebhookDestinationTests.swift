import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

@Suite("Webhook destinations")
struct WebhookDestinationTests {
    let publicURL = "https://93.184.216.34/hooks/clearance"

    @Test func createReadRotateAndDelete() async throws {
        let t0 = Date()
        let clock = TestClock(t0)
        try await TestServer.with(clock: clock.serverClock) { server in
            try await server.test { client in
                let created = try await client.json(
                    .post, "/v3/webhook/destinations/", key: server.adminKey,
                    #"{"label":"CRM","url":"\#(publicURL)","subscribed_events":["status.updated","data.updated"]}"#)
                #expect(created.status == .created, "\(created.text)")
                let id = try #require(created.json["uuid"] as? String)
                let secret = try #require(created.json["secret_shared_key"] as? String)
                #expect(secret.count == 43)
                #expect((created.json["standard_webhooks_secret"] as? String)?.hasPrefix("whsec_") == true)
                #expect(created.json["secret_last4"] as? String == String(secret.suffix(4)))
                #expect(created.json["enabled"] as? Bool == true)
                #expect(created.json["webhook_version"] as? String == "v3")
                #expect((created.json["summary"] as? [String: Any])?["total_deliveries"] as? Int == 0)

                let listed = try await client.json(.get, "/v3/webhook/destinations/", key: server.adminKey)
                #expect(listed.json["count"] as? Int == 1)
                #expect(!listed.text.contains(secret), "a listing never shows the secret")
                let single = try await client.json(.get, "/v3/webhook/destinations/\(id)/", key: server.adminKey)
                #expect(single.json["secret_shared_key"] as? String == secret)

                let rotated = try await client.json(
                    .patch, "/v3/webhook/destinations/\(id)/", key: server.adminKey, #"{"rotate_secret_key":true}"#)
                let newSecret = try #require(rotated.json["secret_shared_key"] as? String)
                #expect(newSecret != secret)
                #expect(rotated.json["previous_secret_expires_at"] as? String == Timestamp.iso8601(t0.addingTimeInterval(24 * 3600)))
                let stored = try #require(try await server.store.webhookDestinations.find(id: id, environment: .live))
                #expect(stored.previousSecret(at: t0.addingTimeInterval(3600))?.sharedKey == secret, "the old secret signs for 24 h")
                #expect(stored.previousSecret(at: t0.addingTimeInterval(24 * 3600 + 1)) == nil, "and not after")

                let replaced = try await client.json(
                    .patch, "/v3/webhook/destinations/\(id)/", key: server.adminKey,
                    #"{"subscribed_events":["kyc.version.approved"],"enabled":false,"label":"CRM 2"}"#)
                #expect(replaced.json["subscribed_events"] as? [String] == ["kyc.version.approved"], "PATCH replaces the list")
                #expect(replaced.json["enabled"] as? Bool == false)
                #expect(replaced.json["secret_shared_key"] == nil)

                let deleted = try await client.json(.delete, "/v3/webhook/destinations/\(id)/", key: server.adminKey)
                #expect(deleted.status == .noContent)
                #expect(try await client.json(.get, "/v3/webhook/destinations/\(id)/", key: server.adminKey).status == .notFound)
                // The URL is free again once its destination is gone.
                let again = try await client.json(
                    .post, "/v3/webhook/destinations/", key: server.adminKey, #"{"url":"\#(publicURL)","subscribed_events":["status.updated"]}"#)
                #expect(again.status == .created)

                let trail = try await client.json(.get, "/v3/audit/?subject_id=\(id)", key: server.adminKey)
                let actions = (trail.json["results"] as? [[String: Any]])?.map { $0["action"] as? String }
                #expect(actions == ["webhook_destination.created", "webhook_destination.secret_rotated", "webhook_destination.updated", "webhook_destination.deleted"])
                #expect(!trail.text.contains(secret) && !trail.text.contains(newSecret), "secrets never reach the audit trail")
            }
        }
    }

    @Test func unsafeOrInvalidDestinationsAreRefused() async throws {
        try await TestServer.with { server in
            try await server.test { client in
                let cases: [(String, String)] = [
                    (#"{"url":"http://93.184.216.34/x","subscribed_events":["status.updated"]}"#, "url"),
                    (#"{"url":"https://127.0.0.1/x","subscribed_events":["status.updated"]}"#, "url"),
                    (#"{"url":"https://localhost/x","subscribed_events":["status.updated"]}"#, "url"),
                    (#"{"url":"https://10.0.0.8/x","subscribed_events":["status.updated"]}"#, "url"),
                    (#"{"url":"https://169.254.169.254/latest","subscribed_events":["status.updated"]}"#, "url"),
                    (#"{"url":"https://[::1]/x","subscribed_events":["status.updated"]}"#, "url"),
                    (#"{"url":"https://user:pw@93.184.216.34/x","subscribed_events":["status.updated"]}"#, "url"),
                    (#"{"url":"not a url","subscribed_events":["status.updated"]}"#, "url"),
                    (#"{"url":"\#(publicURL)","subscribed_events":[]}"#, "subscribed_events"),
                    (#"{"url":"\#(publicURL)","subscribed_events":["*"]}"#, "subscribed_events[0]"),
                    (#"{"url":"\#(publicURL)","subscribed_events":["status.updated","session.created"]}"#, "subscribed_events[1]"),
                    (#"{"url":"\#(publicURL)"}"#, "subscribed_events"),
                    (#"{"url":"\#(publicURL)","subscribed_events":["status.updated"],"webhook_version":"v2"}"#, "webhook_version"),
                ]
                for (text, field) in cases {
                    let response = try await client.json(.post, "/v3/webhook/destinations/", key: server.adminKey, text)
                    #expect(response.status == .badRequest, "\(text)")
                    #expect((response.json["errors"] as? [String: Any])?[field] != nil, "\(text) should name \(field): \(response.text)")
                }
                let first = try await client.json(
                    .post, "/v3/webhook/destinations/", key: server.adminKey, #"{"url":"\#(publicURL)","subscribed_events":["status.updated"]}"#)
                #expect(first.status == .created)
                let duplicate = try await client.json(
                    .post, "/v3/webhook/destinations/", key: server.adminKey, #"{"url":"\#(publicURL)","subscribed_events":["data.updated"]}"#)
                #expect(duplicate.status == .conflict)
                let id = try #require(first.json["uuid"] as? String)
                let emptied = try await client.json(.patch, "/v3/webhook/destinations/\(id)/", key: server.adminKey, #"{"subscribed_events":[]}"#)
                #expect((emptied.json["errors"] as? [String: Any])?["subscribed_events"] != nil, "an explicit [] is 400")
                let toLoopback = try await client.json(.patch, "/v3/webhook/destinations/\(id)/", key: server.adminKey, #"{"url":"https://127.0.0.1/x"}"#)
                #expect(toLoopback.status == .badRequest)
                // Other environments see none of it.
                let sandbox = try await server.key([.readWebhooks, .writeWebhooks], environment: .sandbox)
                #expect(try await client.json(.get, "/v3/webhook/destinations/", key: sandbox.key).json["count"] as? Int == 0)
                #expect(try await client.json(.get, "/v3/webhook/destinations/\(id)/", key: sandbox.key).status == .notFound)
            }
        }
    }

    @Test func theAllowSettingAdmitsLoopbackAndHTTP() async throws {
        let configuration = ServerConfiguration(port: 0, publicURL: "http://clearance.test", allowPrivateWebhookTargets: true)
        try await TestServer.with(configuration: configuration) { server in
            try await server.test { client in
                let response = try await client.json(
                    .post, "/v3/webhook/destinations/", key: server.adminKey,
                    #"{"url":"http://127.0.0.1:9/receiver","subscribed_events":["status.updated"]}"#)
                #expect(response.status == .created, "\(response.text)")
            }
        }
    }
}

/// A clock tests set by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date) { current = start }

    var now: Date {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    func advance(_ seconds: TimeInterval) {
        lock.lock()
        current = current.addingTimeInterval(seconds)
        lock.unlock()
    }

    var serverClock: ServerClock { ServerClock { [self] in self.now } }
}
