import Foundation

/// A node of a session as the planner sees it.
public struct SessionNodeState: Sendable, Equatable {
    public var nodeID: String
    public var feature: Feature
    public var status: NodeStatus

    public init(nodeID: String, feature: Feature, status: NodeStatus) {
        self.nodeID = nodeID
        self.feature = feature
        self.status = status
    }
}

/// A node named in `nodes_to_resubmit`: `{node_id, feature}` or the string
/// `"node_id:FEATURE"`.
public struct RequestedNode: Sendable, Equatable {
    public var nodeID: String
    public var feature: String?

    public init(nodeID: String, feature: String? = nil) {
        self.nodeID = nodeID
        self.feature = feature
    }

    /// Parses `"node_id:FEATURE"` (or a bare node id).
    public init(text: String) {
        if let colon = text.lastIndex(of: ":") {
            self.init(nodeID: String(text[..<colon]), feature: String(text[text.index(after: colon)...]))
        } else {
            self.init(nodeID: text)
        }
    }
}

/// Check 4 of a manual change to `Resubmitted`: which nodes go back to
/// `Not Started`.
public enum ResubmissionPlanner {
    /// A parent business session is recomputed from its child sessions;
    /// these two are never redone by hand.
    public static let refusedFeatures: Set<Feature> = [.kybRegistry, .kybKeyPeople]
    /// A selection of only no-user nodes may not be repeated sooner than this.
    public static let noUserRepeatInterval: TimeInterval = 30

    public static func select(
        nodes: [SessionNodeState], requested: [RequestedNode]?, kind: WorkflowKind, attemptsUsed: Int,
        maxAttempts: Int
    ) -> Result<[SessionNodeState], ValidationFailure> {
        var issues: [FieldIssue] = []
        var selected: [SessionNodeState] = []
        if let requested {
            for (index, item) in requested.enumerated() {
                let path = "nodes_to_resubmit[\(index)]"
                guard let node = nodes.first(where: { $0.nodeID == item.nodeID }) else {
                    issues.append(FieldIssue(path: path, message: "'\(item.nodeID)' is not a node of this session's workflow."))
                    continue
                }
                if let name = item.feature {
                    guard let feature = Feature(name: name) else {
                        issues.append(FieldIssue(path: path, message: "'\(name)' is not a valid feature."))
                        continue
                    }
                    if feature != node.feature {
                        issues.append(FieldIssue(path: path, message: "Node '\(node.nodeID)' runs \(node.feature.rawValue), not \(feature.rawValue)."))
                        continue
                    }
                }
                if refusedFeatures.contains(node.feature) {
                    issues.append(
                        FieldIssue(
                            path: path,
                            message: "\(node.feature.rawValue) cannot be resubmitted: a business session is recomputed from its child sessions."))
                    continue
                }
                if !selected.contains(node) { selected.append(node) }
            }
        } else {
            selected = nodes.filter { $0.status != .approved && !(kind == .business && refusedFeatures.contains($0.feature)) }
        }
        if !issues.isEmpty { return .failure(ValidationFailure(issues)) }
        if selected.isEmpty {
            return .failure(ValidationFailure(path: "nodes_to_resubmit", message: "No nodes to resubmit: every node is already approved."))
        }
        if attemptsUsed >= maxAttempts {
            return .failure(
                ValidationFailure(
                    path: "nodes_to_resubmit",
                    message: "This session has used all \(maxAttempts) resubmission attempts."))
        }
        return .success(selected)
    }

    /// Seconds to wait when a selection of only no-user nodes repeats one
    /// made less than 30 s ago; nil when it may go ahead.
    public static func retryAfter(selection: [SessionNodeState], lastNoUserResubmission: Date?, now: Date) -> Int? {
        guard !selection.isEmpty, selection.allSatisfy(\.feature.needsNoUser), let last = lastNoUserResubmission else {
            return nil
        }
        let elapsed = now.timeIntervalSince(last)
        guard elapsed < noUserRepeatInterval else { return nil }
        return max(1, Int((noUserRepeatInterval - elapsed).rounded(.up)))
    }
}
