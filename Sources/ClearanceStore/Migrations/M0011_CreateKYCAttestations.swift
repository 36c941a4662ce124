import SQLKit

/// Signing keys for KYC attestations (private halves sealed with the data
/// key; retired keys stay so old tokens still verify) and every issued
/// attestation with its revocation.
struct M0011_CreateKYCAttestations: Migration {
    let version = 11
    let name = "create_kyc_attestations"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "kyc_signing_keys")
            .column("kid", type: .text, .primaryKey(autoIncrement: false))
            .column("public_key", type: .blob, .notNull)
            .column("private_sealed", type: .blob, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("retired_at", type: .bigint)
            .run()

        try await sql.create(table: "kyc_attestations")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("user_id", type: .text, .notNull, .references("kyc_users", "id"))
            .column("version_id", type: .text, .notNull, .references("kyc_versions", "id"))
            .column("kid", type: .text, .notNull, .references("kyc_signing_keys", "kid"))
            .column("content_hash", type: .text, .notNull)
            .column("issued_at", type: .bigint, .notNull)
            .column("expires_at", type: .bigint, .notNull)
            .column("revoked_at", type: .bigint)
            .column("revoked_reason", type: .text)
            .run()
        try await sql.create(index: "kyc_attestations_by_version").on("kyc_attestations").column("version_id").run()
    }
}
