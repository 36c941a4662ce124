import Foundation

/// Whether a workflow verifies a person (KYC) or a business (KYB).
public enum WorkflowKind: String, CaseIterable, Sendable, Hashable, Codable {
    case user
    case business
}

public struct WorkflowNode: Sendable, Equatable, Hashable {
    public var nodeID: String
    public var feature: Feature
    public var settings: JSONValue

    public init(nodeID: String, feature: Feature, settings: JSONValue = .object([:])) {
        self.nodeID = nodeID
        self.feature = feature
        self.settings = settings
    }
}

public struct WorkflowSettings: Sendable, Equatable, Hashable {
    public var sessionTTLHours: Int = 168
    public var maxResubmitAttempts: Int = 3
    public var minimumAge: Int = 18
    public var allowExpiredDocuments: Bool = false
    public var fourEyes: Bool = false

    public init() {}

    public static let ttlRange = 1...8760
    public static let resubmitRange = 0...20
    public static let minimumAgeRange = 0...125
}

/// A node as a request names it, before the ordering rules and defaults.
public struct WorkflowNodeInput: Sendable, Equatable {
    public var nodeID: String?
    public var feature: String
    public var settings: JSONValue?

    public init(nodeID: String? = nil, feature: String, settings: JSONValue? = nil) {
        self.nodeID = nodeID
        self.feature = feature
        self.settings = settings
    }
}

/// The rules a workflow's node list must follow (`sessions.md`).
public enum WorkflowRules {
    /// Resolves aliases, fills default node ids (`feature_ocr`, then
    /// `feature_ocr_2`, …) and checks every ordering rule; every problem is
    /// reported, each naming its node (`nodes[2].feature`).
    public static func validate(kind: WorkflowKind, nodes inputs: [WorkflowNodeInput]) -> Result<[WorkflowNode], ValidationFailure> {
        var issues: [FieldIssue] = []
        if inputs.isEmpty {
            return .failure(ValidationFailure(path: "nodes", message: "A workflow needs at least one node."))
        }
        if inputs.count > 50 {
            return .failure(ValidationFailure(path: "nodes", message: "A workflow has at most 50 nodes."))
        }
        var features: [Feature?] = []
        for (index, input) in inputs.enumerated() {
            if let feature = Feature(name: input.feature) {
                features.append(feature)
            } else {
                features.append(nil)
                issues.append(
                    FieldIssue(
                        path: "nodes[\(index)].feature",
                        message: "'\(input.feature)' is not a valid feature; expected one of: \(Feature.allCases.map(\.rawValue).joined(separator: ", "))."))
            }
        }

        for (index, feature) in features.enumerated() {
            guard let feature else { continue }
            let earlier = Set(features[..<index].compactMap { $0 })
            let path = "nodes[\(index)].feature"
            switch feature {
            case .faceMatch, .nfc, .databaseValidation:
                if !earlier.contains(.ocr) {
                    issues.append(FieldIssue(path: path, message: "\(feature.rawValue) needs an OCR node earlier in the workflow."))
                }
            case .aml:
                if earlier.isDisjoint(with: [.ocr, .kybRegistry, .documentAI]) {
                    issues.append(FieldIssue(path: path, message: "AML needs an OCR, KYB_REGISTRY or DOCUMENT_AI node earlier in the workflow."))
                }
            default:
                break
            }
            switch kind {
            case .user:
                if feature.isKYB {
                    issues.append(FieldIssue(path: path, message: "\(feature.rawValue) exists only in business workflows."))
                }
            case .business:
                if index == 0 && feature != .kybRegistry {
                    issues.append(FieldIssue(path: path, message: "A business workflow starts with KYB_REGISTRY."))
                } else if !feature.isKYB && !Feature.allowedInBusiness.contains(feature) {
                    issues.append(
                        FieldIssue(
                            path: path,
                            message: "A business workflow may add only KYB features and \(Feature.allowedInBusiness.map(\.rawValue).sorted().joined(separator: ", "))."))
                }
            }
        }

        var nodes: [WorkflowNode] = []
        var seen: Set<String> = []
        var repeats: [Feature: Int] = [:]
        for (index, input) in inputs.enumerated() {
            guard let feature = features[index] else { continue }
            repeats[feature, default: 0] += 1
            let nodeID: String
            if let explicit = input.nodeID {
                nodeID = explicit
                if !isValidNodeID(explicit) {
                    issues.append(FieldIssue(path: "nodes[\(index)].node_id", message: "Use 1 to 64 letters, digits, '_' or '-'."))
                }
            } else {
                let count = repeats[feature]!
                nodeID = count == 1 ? feature.defaultNodeIDStem : "\(feature.defaultNodeIDStem)_\(count)"
            }
            if !seen.insert(nodeID).inserted {
                issues.append(FieldIssue(path: "nodes[\(index)].node_id", message: "'\(nodeID)' is used by an earlier node."))
            }
            let settings = input.settings ?? .object([:])
            if settings.objectValue == nil {
                issues.append(FieldIssue(path: "nodes[\(index)].settings", message: "Must be an object."))
            }
            nodes.append(WorkflowNode(nodeID: nodeID, feature: feature, settings: settings))
        }
        return issues.isEmpty ? .success(nodes) : .failure(ValidationFailure(issues))
    }

    public static func isValidNodeID(_ text: String) -> Bool {
        (1...64).contains(text.count)
            && text.unicodeScalars.allSatisfy { scalar in
                (scalar.value < 128) && (scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)) || scalar == "_" || scalar == "-")
            }
    }
}

extension WorkflowSettings {
    /// `{session_ttl_hours, max_resubmit_attempts, minimum_age,
    /// allow_expired_documents, four_eyes}`: the wire and stored shape.
    public var json: JSONValue {
        [
            "session_ttl_hours": .int(Int64(sessionTTLHours)),
            "max_resubmit_attempts": .int(Int64(maxResubmitAttempts)),
            "minimum_age": .int(Int64(minimumAge)),
            "allow_expired_documents": .bool(allowExpiredDocuments),
            "four_eyes": .bool(fourEyes),
        ]
    }

    /// Applies the fields present in `json` over `self`, checking each;
    /// issues name `settings.<field>`.
    public func merging(_ json: JSONValue?, path: String = "settings") -> Result<WorkflowSettings, ValidationFailure> {
        guard let json else { return .success(self) }
        guard let members = json.objectValue else {
            return .failure(ValidationFailure(path: path, message: "Must be an object."))
        }
        var settings = self
        var issues: [FieldIssue] = []
        func integer(_ key: String, _ range: ClosedRange<Int>, _ apply: (Int) -> Void) {
            guard let value = members[key] else { return }
            if case .int(let number) = value, range.contains(Int(number)) {
                apply(Int(number))
            } else {
                issues.append(FieldIssue(path: "\(path).\(key)", message: "Must be an integer from \(range.lowerBound) to \(range.upperBound)."))
            }
        }
        func boolean(_ key: String, _ apply: (Bool) -> Void) {
            guard let value = members[key] else { return }
            if case .bool(let flag) = value { apply(flag) } else {
                issues.append(FieldIssue(path: "\(path).\(key)", message: "Must be true or false."))
            }
        }
        integer("session_ttl_hours", Self.ttlRange) { settings.sessionTTLHours = $0 }
        integer("max_resubmit_attempts", Self.resubmitRange) { settings.maxResubmitAttempts = $0 }
        integer("minimum_age", Self.minimumAgeRange) { settings.minimumAge = $0 }
        boolean("allow_expired_documents") { settings.allowExpiredDocuments = $0 }
        boolean("four_eyes") { settings.fourEyes = $0 }
        let known: Set<String> = ["session_ttl_hours", "max_resubmit_attempts", "minimum_age", "allow_expired_documents", "four_eyes"]
        for key in members.keys.sorted() where !known.contains(key) {
            issues.append(FieldIssue(path: "\(path).\(key)", message: "Unknown setting."))
        }
        return issues.isEmpty ? .success(settings) : .failure(ValidationFailure(issues))
    }
}

extension WorkflowNode {
    public var json: JSONValue {
        ["node_id": .string(nodeID), "feature": .string(feature.rawValue), "settings": settings]
    }

    public init?(json: JSONValue) {
        guard let nodeID = json["node_id"]?.stringValue, let name = json["feature"]?.stringValue,
            let feature = Feature(rawValue: name)
        else { return nil }
        self.init(nodeID: nodeID, feature: feature, settings: json["settings"] ?? .object([:]))
    }
}

/// One published version of a workflow.
public struct Workflow: Sendable, Equatable {
    public var id: String
    public var name: String
    public var kind: WorkflowKind
    public var version: Int
    public var nodes: [WorkflowNode]
    public var settings: WorkflowSettings
    public var isDefault: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, kind: WorkflowKind, version: Int, nodes: [WorkflowNode], settings: WorkflowSettings,
        isDefault: Bool, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.version = version
        self.nodes = nodes
        self.settings = settings
        self.isDefault = isDefault
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The workflow a fresh install starts with.
    public static func defaultKYC(id: String, now: Date) -> Workflow {
        Workflow(
            id: id, name: "KYC (default)", kind: .user, version: 1,
            nodes: [
                WorkflowNode(nodeID: "feature_ocr", feature: .ocr),
                WorkflowNode(nodeID: "feature_liveness", feature: .liveness),
                WorkflowNode(nodeID: "feature_face_match", feature: .faceMatch),
                WorkflowNode(nodeID: "feature_aml", feature: .aml),
                WorkflowNode(nodeID: "feature_ip_analysis", feature: .ipAnalysis),
            ],
            settings: WorkflowSettings(), isDefault: true, createdAt: now, updatedAt: now)
    }
}
