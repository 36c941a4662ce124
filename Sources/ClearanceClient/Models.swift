import Foundation

public struct Health: Codable, Sendable {
    public var status: String
    public var timestamp: String
}

public struct Page<Item: Codable & Sendable>: Codable, Sendable {
    public var count: Int
    public var next: String?
    public var previous: String?
    public var results: [Item]
}

public struct APIKeyCreate: Codable, Sendable {
    public var name: String
    public var environment: String
    public var privileges: [String]
    public var roles: [String]
    public var expires_at: String?

    public init(name: String, environment: String, privileges: [String], roles: [String], expires_at: String? = nil) {
        self.name = name
        self.environment = environment
        self.privileges = privileges
        self.roles = roles
        self.expires_at = expires_at
    }
}

public struct APIKey: Codable, Sendable {
    public var id: String
    public var name: String
    public var key: String?
    public var prefix: String
    public var environment: String
    public var privileges: [String]
    public var roles: [String]
    public var created_at: String
    public var expires_at: String?
    public var revoked_at: String?
    public var last_used_at: String?
}

public struct AuditEntry: Codable, Sendable {
    public var id: String
    public var sequence: Int64
    public var at: String
    public var actor: String
    public var action: String
    public var subject_type: String
    public var subject_id: String
    public var comment: String?
    public var request_id: String?
    public var prev_hash: String
    public var hash: String
}
