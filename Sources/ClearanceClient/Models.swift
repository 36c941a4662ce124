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

/// Free-form JSON in answers (`metadata`, node `settings`).
public enum AnyJSON: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([AnyJSON])
    case object([String: AnyJSON])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([AnyJSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: AnyJSON].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

public struct WorkflowSettings: Codable, Sendable, Equatable {
    public var session_ttl_hours: Int?
    public var max_resubmit_attempts: Int?
    public var minimum_age: Int?
    public var allow_expired_documents: Bool?
    public var four_eyes: Bool?

    public init(
        session_ttl_hours: Int? = nil, max_resubmit_attempts: Int? = nil, minimum_age: Int? = nil,
        allow_expired_documents: Bool? = nil, four_eyes: Bool? = nil
    ) {
        self.session_ttl_hours = session_ttl_hours
        self.max_resubmit_attempts = max_resubmit_attempts
        self.minimum_age = minimum_age
        self.allow_expired_documents = allow_expired_documents
        self.four_eyes = four_eyes
    }
}

public struct WorkflowNode: Codable, Sendable, Equatable {
    public var node_id: String?
    public var feature: String
    public var settings: [String: AnyJSON]?

    public init(node_id: String? = nil, feature: String, settings: [String: AnyJSON]? = nil) {
        self.node_id = node_id
        self.feature = feature
        self.settings = settings
    }
}

public struct WorkflowCreate: Codable, Sendable {
    public var name: String
    public var kind: String
    public var nodes: [WorkflowNode]
    public var settings: WorkflowSettings?

    public init(name: String, kind: String = "user", nodes: [WorkflowNode], settings: WorkflowSettings? = nil) {
        self.name = name
        self.kind = kind
        self.nodes = nodes
        self.settings = settings
    }
}

public struct Workflow: Codable, Sendable {
    public var workflow_id: String
    public var name: String
    public var kind: String
    public var version: Int
    public var nodes: [WorkflowNode]
    public var settings: WorkflowSettings
    public var is_default: Bool
    public var created_at: String
    public var updated_at: String
}
