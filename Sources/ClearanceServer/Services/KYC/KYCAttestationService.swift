import Crypto
import Foundation
import SQLKit
import ClearanceDomain
import ClearanceStore

/// Off-chain KYC claims: an EdDSA JWS over the approved version's
/// `contentHash`. Revoked when a later approval supersedes the version.
extension KYCService {
    public struct IssuedAttestation: Sendable {
        public var token: String
        public var record: KYCAttestationRecord
    }

    public func issueAttestation(
        userID: String, issuer: String, principal: Principal, requestID: String?, now: Date
    ) async throws -> IssuedAttestation {
        try await store.database.transaction { sql in
            guard let user = try await store.kyc.lockUser(id: userID, on: sql), user.environment == principal.environment else {
                throw Self.userNotFound
            }
            guard let approvedID = user.approvedVersionID, let version = try await store.kyc.version(id: approvedID, on: sql)?.0,
                let contentHash = version.contentHash
            else {
                throw APIError.conflict("The profile has no approved version to attest.", code: "KYC_PROFILE_NOT_APPROVED")
            }
            var key = try await store.kyc.activeSigningKey(on: sql)
            if key == nil { key = try await store.kyc.rotateSigningKey(now: now, on: sql) }
            guard let key else { throw StoreError.corrupt("no attestation signing key") }
            let record = KYCAttestationRecord(
                id: KYCIdentifier.attestation.make(now: now), userID: user.id, versionID: version.id,
                kid: EdDSAJWS.thumbprint(key.publicKey), contentHash: contentHash,
                issuedAt: Timestamp.date(milliseconds: Timestamp.milliseconds(now) / 1000 * 1000),
                expiresAt: Timestamp.date(milliseconds: (Timestamp.milliseconds(now) / 1000 + Int64(KYCAttestationClaims.lifetime)) * 1000))
            let token = try EdDSAJWS.sign(
                KYCAttestationClaims.make(
                    id: record.id, userID: user.id, versionID: version.id, contentHash: contentHash, issuer: issuer,
                    issuedAt: record.issuedAt, expiresAt: record.expiresAt),
                with: key)
            try await store.kyc.insertAttestation(record, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc.attestation.issued", subjectType: "kyc_attestation", subjectID: record.id,
                    after: [
                        "user_id": .string(user.id), "version_id": .string(version.id), "kid": .string(record.kid),
                        "claim": .string(contentHash),
                    ],
                    requestID: requestID),
                at: now, on: sql)
            return IssuedAttestation(token: token, record: record)
        }
    }

    /// Admin: a new signing key; the old ones stay in the JWKS.
    public func rotateSigningKey(principal: Principal, requestID: String?, now: Date) async throws -> String {
        try await store.database.transaction { sql in
            let kid = EdDSAJWS.thumbprint(try await store.kyc.rotateSigningKey(now: now, on: sql).publicKey)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc.signing_key.rotated", subjectType: "kyc_signing_key", subjectID: kid,
                    requestID: requestID),
                at: now, on: sql)
            return kid
        }
    }

    /// Inside an approval: the superseded version's attestations stop being valid.
    func revokeAttestations(of version: KYCVersionRecord, by replacement: String, actor: String, requestID: String?, now: Date, on sql: any SQLDatabase) async throws {
        for id in try await store.kyc.revokeAttestations(versionID: version.id, reason: "superseded", at: now, on: sql) {
            try await store.audit.append(
                AuditEvent(
                    actor: actor, action: "kyc.attestation.revoked", subjectType: "kyc_attestation", subjectID: id,
                    after: ["reason": "superseded", "by": .string(replacement)], requestID: requestID),
                at: now, on: sql)
        }
    }
}
