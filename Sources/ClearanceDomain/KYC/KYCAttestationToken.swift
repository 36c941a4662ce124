import Crypto
import Foundation

/// Compact JWS (RFC 7515) with EdDSA over Ed25519 (RFC 8037), and the JWK
/// that verifies it. The key id is the RFC 7638 thumbprint of the public key.
public enum EdDSAJWS {
    public static func thumbprint(_ publicKey: Curve25519.Signing.PublicKey) -> String {
        // RFC 7638: the required members, sorted, no whitespace.
        let canonical = #"{"crv":"Ed25519","kty":"OKP","x":"\#(Base64URL.encode(publicKey.rawRepresentation))"}"#
        return Base64URL.encode(SHA256.hash(data: Data(canonical.utf8)))
    }

    public static func jwk(_ publicKey: Curve25519.Signing.PublicKey) -> JSONValue {
        [
            "kty": "OKP", "crv": "Ed25519", "x": .string(Base64URL.encode(publicKey.rawRepresentation)),
            "kid": .string(thumbprint(publicKey)), "use": "sig", "alg": "EdDSA",
        ]
    }

    /// `header.payload.signature`, the header naming `kid`.
    public static func sign(_ claims: JSONValue, with key: Curve25519.Signing.PrivateKey) throws -> String {
        let header: JSONValue = ["alg": "EdDSA", "typ": "JWT", "kid": .string(thumbprint(key.publicKey))]
        let input = Base64URL.encode(header.canonicalBytes) + "." + Base64URL.encode(claims.canonicalBytes)
        let signature = try key.signature(for: Data(input.utf8))
        return input + "." + Base64URL.encode(signature)
    }

    /// The claims when `token` is signed by the key its header names; nil otherwise.
    public static func verify(_ token: String, keys: [Curve25519.Signing.PublicKey]) -> JSONValue? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(String(parts[0])),
            let header = JSONValue(parsing: String(decoding: headerBytes, as: UTF8.self)),
            header["alg"]?.stringValue == "EdDSA", let kid = header["kid"]?.stringValue,
            let key = keys.first(where: { thumbprint($0) == kid }),
            let signature = Base64URL.decode(String(parts[2])),
            key.isValidSignature(Data(signature), for: Data("\(parts[0]).\(parts[1])".utf8)),
            let payload = Base64URL.decode(String(parts[1]))
        else { return nil }
        return JSONValue(parsing: String(decoding: payload, as: UTF8.self))
    }
}

/// The off-chain KYC claim (`kyc-profiles.md`, "After approval").
public enum KYCAttestationClaims {
    public static let topic = "knowYourCustomer"
    public static let lifetime: TimeInterval = 365 * 86400

    public static func make(
        id: String, userID: String, versionID: String, contentHash: String, issuer: String, issuedAt: Date, expiresAt: Date
    ) -> JSONValue {
        [
            "jti": .string(id), "iss": .string(issuer), "sub": .string(userID), "topic": .string(topic),
            "claim": .string(contentHash), "versionId": .string(versionID),
            "iat": .int(Int64(issuedAt.timeIntervalSince1970)), "exp": .int(Int64(expiresAt.timeIntervalSince1970)),
        ]
    }
}
