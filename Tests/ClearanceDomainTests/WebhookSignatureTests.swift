import Foundation
import Testing
@testable import ClearanceDomain

/// Vectors computed with Python's hmac/json (the verifiers' own language):
/// secret bytes 0…31, the body below.
@Suite("Webhook signatures")
struct WebhookSignatureTests {
    let secret = WebhookSecret(bytes: Array(0..<32))!
    let bodyText = #"{"event_id":"evt_1","metadata":{"n":1.0,"name":"Zoë"},"session_id":"s-1","status":"Approved","timestamp":1700000000,"webhook_type":"status.updated"}"#

    var input: WebhookSigningInput {
        WebhookSigningInput(
            body: Array(bodyText.utf8), payload: JSONValue(parsing: bodyText)!, eventID: "evt_1", timestamp: 1_700_000_000,
            sessionID: "s-1", status: "Approved", webhookType: "status.updated")
    }

    @Test func secretsHaveBothTextForms() {
        #expect(secret.sharedKey == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
        #expect(secret.sharedKey.count == 43)
        #expect(secret.standardWebhooksSecret == "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        #expect(WebhookSecret(sharedKey: secret.sharedKey) == secret)
        #expect(WebhookSecret.generate() != WebhookSecret.generate())
    }

    @Test func everySignatureMatchesPython() {
        #expect(WebhookSignature.raw(input, secret: secret) == "5a66467d226b2e3b5744782a37e8a9f0b4854dcdf58f408f4f970d3cff080003")
        #expect(WebhookSignature.canonical(input, secret: secret) == "d8306ba2782f94160520e9425ddab284018c11dead586e67363c8f78a60f0ee2")
        #expect(WebhookSignature.simple(input, secret: secret) == "c61f4e25cf659b0ddd81269f0465a7bcfd9188e1b82e38c9191316e8178c94de")
        #expect(WebhookSignature.standard(input, secret: secret) == "v1,vgkvmJ9gE53tuMTRHHTDWC8Ev1vqpMMTw+MMnUEQtWo=")
    }

    @Test func rotationAddsPreviousVariants() {
        let previous = WebhookSecret(bytes: Array(repeating: 7, count: 32))!
        let headers = Dictionary(uniqueKeysWithValues: WebhookSignature.headers(input, current: secret, previous: previous))
        #expect(headers["X-Signature-Previous"] == WebhookSignature.raw(input, secret: previous))
        #expect(headers["X-Signature-V2-Previous"] == WebhookSignature.canonical(input, secret: previous))
        #expect(headers["X-Signature-Simple-Previous"] == WebhookSignature.simple(input, secret: previous))
        #expect(headers["webhook-signature"]?.split(separator: " ").count == 2)
        let single = Dictionary(uniqueKeysWithValues: WebhookSignature.headers(input, current: secret, previous: nil))
        #expect(single["X-Signature-Previous"] == nil)
        #expect(single["X-Timestamp"] == "1700000000")
        #expect(single["webhook-id"] == "evt_1")
    }
}
