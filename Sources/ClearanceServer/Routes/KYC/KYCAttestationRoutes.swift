import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// Attestations: issued to reviewer roles, verified by anyone. The JWKS and
/// each attestation's status are public, so a relying party needs no key.
struct KYCAttestationRoutes {
    let store: Store
    let clock: ServerClock
    let publicURL: String

    func register(on group: RouterGroup<ClearanceRequestContext>) {
        group.post("/api/v2/kyc-profiles/:userId/attestations", use: issue)
        group.post("/api/v2/kyc-signing-keys/rotations", use: rotate)
    }

    /// Open routes, outside authentication.
    func registerPublic(on router: Router<ClearanceRequestContext>) {
        router.get("/.well-known/jwks.json", use: jwks)
        router.get("/kyc-attestations/:attestationId/status", use: status)
    }

    var service: KYCService { KYCService(store: store) }

    @Sendable func issue(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: KYCRoutes.reviewerRoles)
        guard let userID = KYCIdentifier.user.normalize(try context.parameters.require("userId")) else {
            throw KYCService.userNotFound
        }
        let issued = try await service.issueAttestation(
            userID: userID, issuer: publicURL, principal: principal, requestID: context.requestID, now: clock.now())
        return try KYCRoutes.wrap(
            [
                "token": .string(issued.token), "id": .string(issued.record.id), "kid": .string(issued.record.kid),
                "claim": .string(issued.record.contentHash), "versionId": .string(issued.record.versionID),
                "issuedAt": KYCViews.time(issued.record.issuedAt), "expiresAt": KYCViews.time(issued.record.expiresAt),
                "statusUrl": .string("\(publicURL)/kyc-attestations/\(issued.record.id)/status"),
            ],
            status: .created)
    }

    @Sendable func rotate(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: [.admin])
        let kid = try await service.rotateSigningKey(principal: principal, requestID: context.requestID, now: clock.now())
        return try KYCRoutes.wrap(["kid": .string(kid)], status: .created)
    }

    @Sendable func jwks(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let keys = try await store.kyc.signingPublicKeys()
        return try JSONResponse.make(JSONValue.object(["keys": .array(keys.map(EdDSAJWS.jwk))]))
    }

    /// `{id, status: active|revoked|expired, revokedAt, revokedReason, expiresAt}`; 404 for an unknown id.
    @Sendable func status(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        guard let id = KYCIdentifier.attestation.normalize(try context.parameters.require("attestationId")),
            let record = try await store.kyc.attestation(id: id)
        else { throw APIError.notFound("No attestation with this id.") }
        let state = record.revokedAt != nil ? "revoked" : record.expiresAt <= clock.now() ? "expired" : "active"
        return try JSONResponse.make(
            JSONValue.object([
                "id": .string(record.id), "status": .string(state), "revokedAt": KYCViews.time(record.revokedAt),
                "revokedReason": KYCViews.text(record.revokedReason), "expiresAt": KYCViews.time(record.expiresAt),
            ]))
    }
}
