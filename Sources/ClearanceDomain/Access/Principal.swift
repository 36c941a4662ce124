/// Who is calling: an authenticated API key (or, later, a console user).
public struct Principal: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case apiKey = "key"
        case consoleUser = "console"
    }

    public var kind: Kind
    public var id: String
    public var name: String
    public var environment: KeyEnvironment
    public var privileges: Set<Privilege>
    public var roles: Set<Role>

    public init(
        kind: Kind = .apiKey, id: String, name: String, environment: KeyEnvironment,
        privileges: Set<Privilege>, roles: Set<Role>
    ) {
        self.kind = kind
        self.id = id
        self.name = name
        self.environment = environment
        self.privileges = privileges
        self.roles = roles
    }

    public var isAdmin: Bool { roles.contains(.admin) }

    public func has(_ privilege: Privilege) -> Bool {
        isAdmin || privileges.contains(privilege)
    }

    public func has(_ role: Role) -> Bool {
        isAdmin || roles.contains(role)
    }

    /// True when the principal holds at least one of `roles`.
    public func hasAny(of roles: [Role]) -> Bool {
        roles.contains { has($0) }
    }

    /// The environments whose API keys this principal may list, mint and
    /// revoke. A sandbox key only sandbox's: "keys of one environment never
    /// see the other's", and a live key minted from sandbox would reach live
    /// data. A live key or a console user both: the first admin key is live
    /// and mints the sandbox keys.
    public var keyEnvironments: Set<KeyEnvironment> {
        kind == .apiKey && environment == .sandbox ? [.sandbox] : Set(KeyEnvironment.allCases)
    }

    /// How the audit trail names this principal: `key:<id>` or `console:<id>`.
    public var actor: String { "\(kind.rawValue):\(id)" }
}
