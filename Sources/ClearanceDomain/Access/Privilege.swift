/// A fine-grained permission an API key carries (`access.md`).
public enum Privilege: String, CaseIterable, Codable, Sendable, Hashable {
    case readSessions = "read:sessions"
    case writeSessions = "write:sessions"
    case deleteSessions = "delete:sessions"
    case readWebhooks = "read:webhooks"
    case writeWebhooks = "write:webhooks"
    case readWorkflows = "read:workflows"
    case writeWorkflows = "write:workflows"
    case readAudit = "read:audit"
    case adminKeys = "admin:keys"
}

/// A system role. `admin` implies every privilege and every other role;
/// the others gate the KYC dialect (`kyc-profiles.md`).
public enum Role: String, CaseIterable, Codable, Sendable, Hashable {
    case admin
    case identityManager
    case claimIssuer
    case systemManager
}

/// Keys, sessions and everything hanging off them live in one environment
/// and never see the other's.
public enum KeyEnvironment: String, CaseIterable, Codable, Sendable, Hashable {
    case live
    case sandbox
}
