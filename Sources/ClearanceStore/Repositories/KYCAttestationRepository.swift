import Crypto
import Foundation
import SQLKit
import ClearanceDomain

/// Attestation signing keys and issued attestations.
extension KYCRepository {
    static func signingKeyContext(_ kid: String) -> String { "kyc_signing_keys.private:\(kid)" }

    /// The key that signs now; nil before the first is made.
    public func activeSigningKey(on sql: any SQLDatabase) async throws -> Curve25519.Signing.PrivateKey? {
        guard let row = try await sql.raw("""
            SELECT kid, private_sealed FROM kyc_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 1
            """).first()
        else { return nil }
        let kid = try row.decode(column: "kid", as: String.self)
        return try Curve25519.Signing.PrivateKey(
            rawRepresentation: try sealer.open(try row.decode(column: "private_sealed", as: Data.self), context: Self.signingKeyContext(kid)))
    }

    /// Retires every active key and makes a new one, sealed with the data key.
    public func rotateSigningKey(now: Date, on sql: any SQLDatabase) async throws -> Curve25519.Signing.PrivateKey {
        let at = Timestamp.milliseconds(now)
        try await sql.raw("UPDATE kyc_signing_keys SET retired_at = \(bind: at) WHERE retired_at IS NULL").run()
        let key = Curve25519.Signing.PrivateKey()
        let kid = EdDSAJWS.thumbprint(key.publicKey)
        try await sql.raw("""
            INSERT INTO kyc_signing_keys (kid, public_key, private_sealed, created_at, retired_at)
            VALUES (\(bind: kid), \(bind: key.publicKey.rawRepresentation),
            \(bind: try sealer.seal(key.rawRepresentation, context: Self.signingKeyContext(kid))), \(bind: at), NULL)
            """).run()
        return key
    }

    /// Every public key, active and retired: old tokens keep verifying.
    public func signingPublicKeys() async throws -> [Curve25519.Signing.PublicKey] {
        try await database.read { sql in
            try await sql.raw("SELECT public_key FROM kyc_signing_keys ORDER BY created_at, kid").all().map {
                try Curve25519.Signing.PublicKey(rawRepresentation: try $0.decode(column: "public_key", as: Data.self))
            }
        }
    }

    public func insertAttestation(_ record: KYCAttestationRecord, on sql: any SQLDatabase) async throws {
        try await sql.raw("""
            INSERT INTO kyc_attestations (id, user_id, version_id, kid, content_hash, issued_at, expires_at, revoked_at, revoked_reason)
            VALUES (\(bind: record.id), \(bind: record.userID), \(bind: record.versionID), \(bind: record.kid),
            \(bind: record.contentHash), \(bind: Timestamp.milliseconds(record.issuedAt)),
            \(bind: Timestamp.milliseconds(record.expiresAt)), NULL, NULL)
            """).run()
    }

    /// Revokes the live attestations of a version; answers their ids.
    public func revokeAttestations(versionID: String, reason: String, at: Date, on sql: any SQLDatabase) async throws -> [String] {
        let ids = try await sql.raw("SELECT id FROM kyc_attestations WHERE version_id = \(bind: versionID) AND revoked_at IS NULL")
            .all().map { try $0.decode(column: "id", as: String.self) }
        try await sql.raw("""
            UPDATE kyc_attestations SET revoked_at = \(bind: Timestamp.milliseconds(at)), revoked_reason = \(bind: reason)
            WHERE version_id = \(bind: versionID) AND revoked_at IS NULL
            """).run()
        return ids
    }

    public func attestation(id: String) async throws -> KYCAttestationRecord? {
        try await database.read { sql in
            guard let row = try await sql.raw("SELECT * FROM kyc_attestations WHERE id = \(bind: id)").first() else { return nil }
            return KYCAttestationRecord(
                id: id, userID: try row.decode(column: "user_id", as: String.self),
                versionID: try row.decode(column: "version_id", as: String.self), kid: try row.decode(column: "kid", as: String.self),
                contentHash: try row.decode(column: "content_hash", as: String.self),
                issuedAt: Timestamp.date(milliseconds: try row.decode(column: "issued_at", as: Int64.self)),
                expiresAt: Timestamp.date(milliseconds: try row.decode(column: "expires_at", as: Int64.self)),
                revokedAt: try row.decode(column: "revoked_at", as: Int64?.self).map(Timestamp.date(milliseconds:)),
                revokedReason: try row.decode(column: "revoked_reason", as: String?.self))
        }
    }
}
