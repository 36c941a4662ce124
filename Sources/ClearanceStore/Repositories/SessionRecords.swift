import Foundation
import ClearanceDomain

/// A session row with its personal data opened (never logged).
public struct SessionRecord: Sendable, Equatable {
    public var id: String
    public var number: Int64
    public var environment: KeyEnvironment
    public var kind: WorkflowKind
    public var workflowID: String
    public var workflowVersion: Int
    public var status: SessionStatus
    public var vendorData: String?
    public var callback: String?
    public var callbackMethod: String?
    public var metadata: JSONValue?
    public var language: String?
    public var token: String
    public var country: String?
    public var personal: SessionPersonalData
    public var resubmit: ResubmitInfo
    public var sandboxScenario: String?
    public var documentExpiresAt: Date?
    public var expiresAt: Date
    public var createdAt: Date
    public var updatedAt: Date
    public var deletedAt: Date?
    public var lastNoUserResubmitAt: Date?
    public var eventSequence: Int64
    /// The status as last stored; `save` moves the live counts from it.
    public internal(set) var storedStatus: SessionStatus?

    public init(
        id: String, number: Int64, environment: KeyEnvironment, kind: WorkflowKind, workflowID: String,
        workflowVersion: Int, status: SessionStatus, vendorData: String?, callback: String?, callbackMethod: String?,
        metadata: JSONValue?, language: String?, token: String, country: String?, personal: SessionPersonalData,
        resubmit: ResubmitInfo = ResubmitInfo(), sandboxScenario: String?, documentExpiresAt: Date? = nil,
        expiresAt: Date, createdAt: Date, updatedAt: Date, deletedAt: Date? = nil, lastNoUserResubmitAt: Date? = nil,
        eventSequence: Int64 = 0
    ) {
        self.id = id
        self.number = number
        self.environment = environment
        self.kind = kind
        self.workflowID = workflowID
        self.workflowVersion = workflowVersion
        self.status = status
        self.vendorData = vendorData
        self.callback = callback
        self.callbackMethod = callbackMethod
        self.metadata = metadata
        self.language = language
        self.token = token
        self.country = country
        self.personal = personal
        self.resubmit = resubmit
        self.sandboxScenario = sandboxScenario
        self.documentExpiresAt = documentExpiresAt
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deletedAt = deletedAt
        self.lastNoUserResubmitAt = lastNoUserResubmitAt
        self.eventSequence = eventSequence
    }
}

/// The personal part of a session, sealed as one value with the session's
/// own key.
public struct SessionPersonalData: Sendable, Equatable {
    public var contactDetails: JSONValue?
    public var expectedDetails: JSONValue?
    public var portraitImage: String?

    public init(contactDetails: JSONValue? = nil, expectedDetails: JSONValue? = nil, portraitImage: String? = nil) {
        self.contactDetails = contactDetails
        self.expectedDetails = expectedDetails
        self.portraitImage = portraitImage
    }

    var json: JSONValue {
        [
            "contact_details": contactDetails ?? .null, "expected_details": expectedDetails ?? .null,
            "portrait_image": portraitImage.map(JSONValue.string) ?? .null,
        ]
    }

    init(json: JSONValue) {
        func present(_ value: JSONValue?) -> JSONValue? { value == .null ? nil : value }
        contactDetails = present(json["contact_details"])
        expectedDetails = present(json["expected_details"])
        portraitImage = json["portrait_image"]?.stringValue
    }

    public var isEmpty: Bool { contactDetails == nil && expectedDetails == nil && portraitImage == nil }
}

/// `resubmit_info`: the nodes last sent back and how many attempts were used.
public struct ResubmitInfo: Sendable, Equatable {
    public var nodes: [String]
    public var attemptsUsed: Int

    public init(nodes: [String] = [], attemptsUsed: Int = 0) {
        self.nodes = nodes
        self.attemptsUsed = attemptsUsed
    }

    var json: JSONValue {
        ["nodes": .array(nodes.map(JSONValue.string)), "attempts_used": .int(Int64(attemptsUsed))]
    }

    init(json: JSONValue?) {
        if case .array(let items) = json?["nodes"] { nodes = items.compactMap(\.stringValue) } else { nodes = [] }
        if case .int(let used) = json?["attempts_used"] { attemptsUsed = Int(used) } else { attemptsUsed = 0 }
    }
}

public struct SessionNodeRecord: Sendable, Equatable {
    public var sessionID: String
    public var nodeID: String
    public var position: Int
    public var feature: Feature
    public var status: NodeStatus
    /// The feature-shaped result data (opened).
    public var data: JSONValue
    public var warnings: [SessionWarning]
    public var updatedAt: Date

    public init(
        sessionID: String, nodeID: String, position: Int, feature: Feature, status: NodeStatus,
        data: JSONValue = .object([:]), warnings: [SessionWarning] = [], updatedAt: Date
    ) {
        self.sessionID = sessionID
        self.nodeID = nodeID
        self.position = position
        self.feature = feature
        self.status = status
        self.data = data
        self.warnings = warnings
        self.updatedAt = updatedAt
    }

    public var state: SessionNodeState { SessionNodeState(nodeID: nodeID, feature: feature, status: status) }
}

public struct SessionReviewRecord: Sendable, Equatable {
    public var id: String
    public var sessionID: String
    public var actor: String
    public var previousStatus: SessionStatus
    public var newStatus: SessionStatus
    public var comment: String?
    /// The session's event sequence this change was given: orders reviews.
    public var sequence: Int64
    public var createdAt: Date

    public init(
        id: String, sessionID: String, actor: String, previousStatus: SessionStatus, newStatus: SessionStatus,
        comment: String?, sequence: Int64, createdAt: Date
    ) {
        self.sequence = sequence
        self.id = id
        self.sessionID = sessionID
        self.actor = actor
        self.previousStatus = previousStatus
        self.newStatus = newStatus
        self.comment = comment
        self.createdAt = createdAt
    }
}

/// Filters of `GET /v3/sessions/`, already validated.
public struct SessionFilter: Sendable {
    public var environment: KeyEnvironment
    public var kinds: [WorkflowKind]
    public var status: SessionStatus?
    public var vendorData: String?
    public var country: String?
    public var workflowID: String?
    /// Free text: matches inside vendor_data, or exactly a first name, last
    /// name, full name or email (through the blind index).
    public var search: String?
    public var createdFrom: Date?
    public var createdBefore: Date?
    public var limit: Int
    public var offset: Int

    public init(
        environment: KeyEnvironment, kinds: [WorkflowKind] = [.user], status: SessionStatus? = nil,
        vendorData: String? = nil, country: String? = nil, workflowID: String? = nil, search: String? = nil,
        createdFrom: Date? = nil, createdBefore: Date? = nil, limit: Int = 20, offset: Int = 0
    ) {
        self.environment = environment
        self.kinds = kinds
        self.status = status
        self.vendorData = vendorData
        self.country = country
        self.workflowID = workflowID
        self.search = search
        self.createdFrom = createdFrom
        self.createdBefore = createdBefore
        self.limit = limit
        self.offset = offset
    }
}

/// Why the sweep picked a session.
public enum SweepReason: String, Sendable {
    case expired
    case documentExpired
}
