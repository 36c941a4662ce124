import Crypto
import Foundation

/// A destination's signing secret: 32 random bytes. Didit-style signatures
/// are keyed with the UTF-8 bytes of its base64url text
/// (`secret_shared_key`), Standard Webhooks ones with the raw bytes
/// (`standard_webhooks_secret`, `whsec_<base64>`).
public struct WebhookSecret: Sendable, Equatable {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    public static func generate() -> WebhookSecret {
        var rng = SystemRandomNumberGenerator()
        return WebhookSecret(bytes: (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &rng) })!
    }

    /// 43 base64url characters.
    public var sharedKey: String { Base64URL.encode(bytes) }

    public init?(sharedKey: String) {
        guard let bytes = Base64URL.decode(sharedKey) else { return nil }
        self.init(bytes: bytes)
    }

    public var standardWebhooksSecret: String { "whsec_" + Data(bytes).base64EncodedString() }

    public var last4: String { String(sharedKey.suffix(4)) }
}

/// What a delivery is signed over.
public struct WebhookSigningInput: Sendable {
    /// The exact bytes sent.
    public var body: [UInt8]
    /// The same body as a value, for the canonical (V2) signature.
    public var payload: JSONValue
    public var eventID: String
    public var timestamp: Int64
    public var sessionID: String
    public var status: String
    public var webhookType: String

    public init(
        body: [UInt8], payload: JSONValue, eventID: String, timestamp: Int64, sessionID: String, status: String,
        webhookType: String
    ) {
        self.body = body
        self.payload = payload
        self.eventID = eventID
        self.timestamp = timestamp
        self.sessionID = sessionID
        self.status = status
        self.webhookType = webhookType
    }
}

/// Every signature header of `webhooks.md`, for the current secret and,
/// during a rotation, the previous one.
public enum WebhookSignature {
    public static func hex(_ key: [UInt8], _ message: some DataProtocol) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// `X-Signature` over the raw body.
    public static func raw(_ input: WebhookSigningInput, secret: WebhookSecret) -> String {
        hex(Array(secret.sharedKey.utf8), input.body)
    }

    /// `X-Signature-V2` over the canonical JSON of the body.
    public static func canonical(_ input: WebhookSigningInput, secret: WebhookSecret) -> String {
        hex(Array(secret.sharedKey.utf8), input.payload.canonicalBytes)
    }

    /// `X-Signature-Simple` over `{timestamp}:{session_id}:{status}:{webhook_type}`.
    public static func simple(_ input: WebhookSigningInput, secret: WebhookSecret) -> String {
        hex(
            Array(secret.sharedKey.utf8),
            Array("\(input.timestamp):\(input.sessionID):\(input.status):\(input.webhookType)".utf8))
    }

    /// Standard Webhooks `v1,<base64 HMAC of "{id}.{timestamp}.{body}">`.
    public static func standard(_ input: WebhookSigningInput, secret: WebhookSecret) -> String {
        let message = Array("\(input.eventID).\(input.timestamp).".utf8) + input.body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret.bytes))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// Header name → value, in a stable order.
    public static func headers(
        _ input: WebhookSigningInput, current: WebhookSecret, previous: WebhookSecret?
    ) -> [(String, String)] {
        var headers: [(String, String)] = [
            ("X-Timestamp", String(input.timestamp)),
            ("X-Signature", raw(input, secret: current)),
            ("X-Signature-V2", canonical(input, secret: current)),
            ("X-Signature-Simple", simple(input, secret: current)),
        ]
        var standardSignatures = standard(input, secret: current)
        if let previous {
            headers += [
                ("X-Signature-Previous", raw(input, secret: previous)),
                ("X-Signature-V2-Previous", canonical(input, secret: previous)),
                ("X-Signature-Simple-Previous", simple(input, secret: previous)),
            ]
            standardSignatures += " " + standard(input, secret: previous)
        }
        headers += [
            ("webhook-id", input.eventID),
            ("webhook-timestamp", String(input.timestamp)),
            ("webhook-signature", standardSignatures),
        ]
        return headers
    }
}
