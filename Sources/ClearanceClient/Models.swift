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

public struct SessionCreate: Codable, Sendable {
    public var workflow_id: String
    public var vendor_data: String?
    public var callback: String?
    public var metadata: AnyJSON?
    public var sandbox_scenario: String?

    public init(workflow_id: String, vendor_data: String? = nil, callback: String? = nil, metadata: AnyJSON? = nil, sandbox_scenario: String? = nil) {
        self.workflow_id = workflow_id
        self.vendor_data = vendor_data
        self.callback = callback
        self.metadata = metadata
        self.sandbox_scenario = sandbox_scenario
    }
}

public struct ResubmitInfo: Codable, Sendable {
    public var nodes: [String]
    public var available_attempts: Int
    public var max_attempts: Int
}

public struct Session: Codable, Sendable {
    public var session_id: String
    public var session_number: Int
    public var session_token: String
    public var url: String
    public var status: String
    public var workflow_id: String
    public var workflow_version: Int
    public var vendor_data: String?
    public var callback: String?
    public var session_kind: String
    public var expires_at: String
    public var created_at: String
    public var updated_at: String
    public var resubmit_info: ResubmitInfo
}

public struct SessionListItem: Codable, Sendable {
    public var session_id: String
    public var session_number: Int
    public var status: String
    public var url: String
    public var workflow_id: String
    public var vendor_data: String?
    public var country: String?
    public var session_kind: String
    public var created_at: String
    public var updated_at: String
}

public struct ResubmitNode: Codable, Sendable {
    public var node_id: String
    public var feature: String?

    public init(node_id: String, feature: String? = nil) {
        self.node_id = node_id
        self.feature = feature
    }
}

public struct UpdateStatus: Codable, Sendable {
    public var new_status: String
    public var comment: String?
    public var send_email: Bool?
    public var email_address: String?
    public var email_language: String?
    public var nodes_to_resubmit: [ResubmitNode]?

    public init(
        new_status: String, comment: String? = nil, send_email: Bool? = nil, email_address: String? = nil,
        email_language: String? = nil, nodes_to_resubmit: [ResubmitNode]? = nil
    ) {
        self.new_status = new_status
        self.comment = comment
        self.send_email = send_email
        self.email_address = email_address
        self.email_language = email_language
        self.nodes_to_resubmit = nodes_to_resubmit
    }
}

public struct StatusAnswer: Codable, Sendable {
    public var session_id: String
    public var session_kind: String
    public var status: String
}
