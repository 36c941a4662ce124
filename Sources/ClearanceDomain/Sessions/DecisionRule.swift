/// How a session is decided once every node has a result.
public enum DecisionRule {
    /// Any node `Declined` → `Declined`; else any `In Review` → `In Review`;
    /// else `Approved`, which `four_eyes` turns into `In Review` so a person
    /// confirms. Nil while some node has no result yet.
    public static func decide(_ nodes: [NodeStatus], fourEyes: Bool) -> SessionStatus? {
        guard !nodes.isEmpty, nodes.allSatisfy(\.isResult) else { return nil }
        if nodes.contains(.declined) { return .declined }
        if nodes.contains(.inReview) { return .inReview }
        return fourEyes ? .inReview : .approved
    }
}
