import SQLKit

/// Each claim on an `Idempotency-Key` writes its own token, and every later
/// write names it: a request whose lease lapsed, and whose key another
/// request then took, can no longer mark, answer or free the key (its
/// change rolls back instead of being applied a second time).
struct M0040_AddIdempotencyClaimTokens: Migration {
    let version = 40
    let name = "add_idempotency_claim_tokens"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.alter(table: "idempotency_keys").column("claim_token", type: .text).run()
    }
}
