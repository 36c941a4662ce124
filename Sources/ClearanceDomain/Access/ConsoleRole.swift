/// What a console user may do. `reviewer` works verification sessions;
/// `claimIssuer` and `identityManager` work KYC profiles (`kyc-profiles.md`);
/// `admin` may do everything, API keys included.
public enum ConsoleRole: String, CaseIterable, Codable, Sendable, Hashable {
    case reviewer
    case claimIssuer
    case identityManager
    case admin

    /// The API privileges this role carries, so the console's checks are the
    /// API's checks (`Principal.has`).
    public var privileges: Set<Privilege> {
        switch self {
        case .reviewer:
            // Sessions, their webhook deliveries (resend) and the audit trail.
            [.readSessions, .writeSessions, .readWebhooks, .writeWebhooks, .readAudit]
        case .claimIssuer, .identityManager: [.readAudit]
        case .admin: Set(Privilege.allCases)
        }
    }

    /// The system role it maps to, if any.
    public var systemRole: Role? {
        switch self {
        case .reviewer: nil
        case .claimIssuer: .claimIssuer
        case .identityManager: .identityManager
        case .admin: .admin
        }
    }
}

extension Principal {
    /// A signed-in console user, acting in `environment`. The audit trail
    /// names them `console:<id>`.
    public static func consoleUser(
        id: String, email: String, roles: Set<ConsoleRole>, environment: KeyEnvironment
    ) -> Principal {
        Principal(
            kind: .consoleUser, id: id, name: email, environment: environment,
            privileges: roles.reduce(into: Set<Privilege>()) { $0.formUnion($1.privileges) },
            roles: Set(roles.compactMap(\.systemRole)))
    }

    /// May see KYC pages (`kyc-profiles.md`: claimIssuer or identityManager).
    public var canWorkKYC: Bool { hasAny(of: [.claimIssuer, .identityManager]) }
}
