import ClearanceDomain

/// One key's single grant: a privilege or a system role.
enum Grant: Hashable, Sendable, CustomStringConvertible {
    case privilege(Privilege)
    case role(Role)

    static let all: [Grant] = Privilege.allCases.map(Grant.privilege) + Role.allCases.map(Grant.role)

    var description: String {
        switch self {
        case .privilege(let privilege): privilege.rawValue
        case .role(let role): "role \(role.rawValue)"
        }
    }
}

/// What an operation needs, as the spec says it.
enum Gate: Sendable {
    /// No key (the document's `security: []`).
    case open
    case privilege(Privilege)
    /// Any one of these system roles.
    case anyRole(Set<Role>)

    /// access.md: `admin` is everything; otherwise exactly the named grant.
    func admits(_ grant: Grant) -> Bool {
        switch (self, grant) {
        case (.open, _), (_, .role(.admin)): true
        case (.privilege(let needed), .privilege(let held)): needed == held
        case (.anyRole(let needed), .role(let held)): needed.contains(held)
        default: false
        }
    }
}

/// How a key of the other environment, holding every grant, fares.
enum Reach: Sendable {
    /// The path names one environment's resource: 404, as a missing one.
    case notFound
    /// A collection answered from the caller's own environment: allowed, and
    /// the answer names none of the other environment's ids.
    case ownOnly
    /// Configuration or the trail, one for both environments: allowed.
    case shared
}

struct Rule: Sendable {
    var gate: Gate
    /// A sandbox key on a live resource, and a live key on a sandbox one.
    var sandboxOnLive: Reach
    var liveOnSandbox: Reach

    static let open = Rule(gate: .open, sandboxOnLive: .shared, liveOnSandbox: .shared)

    static func needs(_ privilege: Privilege, _ reach: Reach) -> Rule {
        Rule(gate: .privilege(privilege), sandboxOnLive: reach, liveOnSandbox: reach)
    }

    static func needs(anyOf roles: Set<Role>, _ reach: Reach) -> Rule {
        Rule(gate: .anyRole(roles), sandboxOnLive: reach, liveOnSandbox: reach)
    }
}

/// Every operation of `openapi.yaml` and what it needs, written from
/// `../shared/spec/` (access.md, sessions.md, webhooks.md, emails.md,
/// kyc-profiles.md) and, where the spec is silent, from the decisions the
/// project wrote down (README's route table, docs/*.md) — never from the
/// routes' code. The matrix test holds this table and the document to the
/// same set of operations.
enum AuthorizationTable {
    static let reviewer: Set<Role> = [.claimIssuer, .identityManager]

    static let rules: [String: Rule] = [
        // Open: health (sessions.md "Health"), the document, metrics; the
        // attestation JWKS and status (kyc-profiles.md: "verifiable by anyone").
        "GET /health": .open,
        "GET /system/healthcheck": .open,
        "GET /metrics": .open,
        "GET /openapi.json": .open,
        "GET /.well-known/jwks.json": .open,
        "GET /kyc-attestations/{attestationId}/status": .open,

        // access.md: /v3/api-keys/ for admin:keys. "Sessions and keys of one
        // environment never see the other's" (sessions.md): a sandbox key
        // neither lists nor revokes live keys. A live key manages both: the
        // first admin key is live and mints the sandbox keys.
        "POST /v3/api-keys/": .needs(.adminKeys, .shared),
        "GET /v3/api-keys/": Rule(gate: .privilege(.adminKeys), sandboxOnLive: .ownOnly, liveOnSandbox: .shared),
        "DELETE /v3/api-keys/{key_id}/": Rule(gate: .privilege(.adminKeys), sandboxOnLive: .notFound, liveOnSandbox: .shared),

        // access.md: GET /v3/audit/ with read:audit; one chain for the deployment.
        "GET /v3/audit/": .needs(.readAudit, .shared),

        // README: write:workflows / read:workflows; docs/sessions.md:
        // workflows are configuration shared by both environments.
        "POST /v3/workflows/": .needs(.writeWorkflows, .shared),
        "GET /v3/workflows/": .needs(.readWorkflows, .shared),
        "GET /v3/workflows/{workflow_id}/": .needs(.readWorkflows, .shared),
        "PATCH /v3/workflows/{workflow_id}/": .needs(.writeWorkflows, .shared),

        // sessions.md; access.md "A session of the other environment → 404".
        "POST /v3/session/": .needs(.writeSessions, .ownOnly),
        "GET /v3/session/{session_id}/": .needs(.readSessions, .notFound),
        "GET /v3/session/{session_id}/decision/": .needs(.readSessions, .notFound),
        "GET /v3/sessions/": .needs(.readSessions, .ownOnly),
        "DELETE /v3/session/{session_id}/delete/": .needs(.deleteSessions, .notFound),
        "PATCH /v3/session/{session_id}/update-status/": .needs(.writeSessions, .notFound),
        "PATCH /v3/session/{session_id}/features/{node_id}/update-status/": .needs(.writeSessions, .notFound),
        // emails.md names no privilege; README: previews write:sessions, the email log read:sessions.
        "POST /v3/session/{session_id}/decision-email-preview/": .needs(.writeSessions, .notFound),
        "POST /v3/session/{session_id}/resubmission-preview/": .needs(.writeSessions, .notFound),
        "GET /v3/session/{session_id}/emails/": .needs(.readSessions, .notFound),

        // webhooks.md: read:webhooks / write:webhooks; docs/webhooks.md:
        // destinations belong to the key's environment.
        "POST /v3/webhook/destinations/": .needs(.writeWebhooks, .ownOnly),
        "GET /v3/webhook/destinations/": .needs(.readWebhooks, .ownOnly),
        "GET /v3/webhook/destinations/{uuid}/": .needs(.readWebhooks, .notFound),
        "PATCH /v3/webhook/destinations/{uuid}/": .needs(.writeWebhooks, .notFound),
        "DELETE /v3/webhook/destinations/{uuid}/": .needs(.writeWebhooks, .notFound),
        // webhooks.md "Delivery": the log is read, resend and test send write.
        "GET /v3/webhook/destinations/{uuid}/deliveries/": .needs(.readWebhooks, .notFound),
        "GET /v3/webhook/destinations/{uuid}/deliveries/{delivery_uuid}/": .needs(.readWebhooks, .notFound),
        "POST /v3/webhook/destinations/{uuid}/deliveries/{delivery_uuid}/resend/": .needs(.writeWebhooks, .notFound),
        "POST /v3/webhook/destinations/{uuid}/test/": .needs(.writeWebhooks, .notFound),
        "GET /v3/session/{session_id}/webhooks/": .needs(.readWebhooks, .notFound),

        // kyc-profiles.md "Roles": creating users needs identityManager;
        // reading and acting on KYC data claimIssuer or identityManager.
        // docs/kyc.md: a KYC user belongs to its key's environment, like sessions.
        "POST /api/v2/users": .needs(anyOf: [.identityManager], .ownOnly),
        "GET /api/v2/users": .needs(anyOf: reviewer, .ownOnly),
        "GET /api/v2/users/{userId}": .needs(anyOf: reviewer, .notFound),
        "GET /api/v2/kyc-profiles/{userId}": .needs(anyOf: reviewer, .notFound),
        "POST /api/v2/kyc-profiles/{userId}/versions": .needs(anyOf: reviewer, .notFound),
        "GET /api/v2/kyc-profiles/{userId}/versions": .needs(anyOf: reviewer, .notFound),
        "GET /api/v2/kyc-profile-versions/{versionId}": .needs(anyOf: reviewer, .notFound),
        "PATCH /api/v2/kyc-profile-versions/{versionId}": .needs(anyOf: reviewer, .notFound),
        "POST /api/v2/kyc-profile-versions/{versionId}/submissions": .needs(anyOf: reviewer, .notFound),
        "POST /api/v2/kyc-profile-versions/{versionId}/approvals": .needs(anyOf: reviewer, .notFound),
        "POST /api/v2/kyc-profile-versions/{versionId}/rejections": .needs(anyOf: reviewer, .notFound),
        "POST /api/v2/kyc-profile-versions/{versionId}/update-requests": .needs(anyOf: reviewer, .notFound),
        "POST /api/v2/kyc-profile-versions/{versionId}/documents": .needs(anyOf: reviewer, .notFound),
        "GET /api/v2/kyc-profile-versions/{versionId}/documents": .needs(anyOf: reviewer, .notFound),
        "GET /api/v2/kyc-documents/{documentId}/content": .needs(anyOf: reviewer, .notFound),
        "DELETE /api/v2/kyc-documents/{documentId}": .needs(anyOf: reviewer, .notFound),
        "GET /api/v2/kyc-action-requests": .needs(anyOf: reviewer, .ownOnly),
        "GET /api/v2/kyc-action-requests/{requestId}": .needs(anyOf: reviewer, .notFound),
        "POST /api/v2/kyc-profiles/{userId}/attestations": .needs(anyOf: reviewer, .notFound),
        // The spec names no role for these; docs/kyc.md: settings are read by
        // reviewer roles and changed by admin, signing keys rotated by admin,
        // both once for the organisation.
        "GET /api/v2/kyc-settings": .needs(anyOf: reviewer, .shared),
        "PATCH /api/v2/kyc-settings": .needs(anyOf: [.admin], .shared),
        "POST /api/v2/kyc-signing-keys/rotations": .needs(anyOf: [.admin], .shared),
    ]

    /// The reviewer console (docs/console.md) is not in the document: its
    /// pages sign people in with a cookie, never with an API key. Only the
    /// sign-in page and the stylesheet are open.
    static let consoleOpen: Set<String> = [
        "GET /console/login", "POST /console/login", "GET /console/static/console.css",
    ]
}
