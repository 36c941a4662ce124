/// A check's warning as the decision shows it.
public struct SessionWarning: Sendable, Equatable, Codable {
    public var code: String
    public var risk: String
    public var shortDescription: String
    public var longDescription: String
    public var severity: String

    public init(code: String, risk: String, shortDescription: String, longDescription: String, severity: String) {
        self.code = code
        self.risk = risk
        self.shortDescription = shortDescription
        self.longDescription = longDescription
        self.severity = severity
    }

    public static let severities: Set<String> = ["low", "medium", "high", "critical"]

    public var json: JSONValue {
        [
            "code": .string(code), "risk": .string(risk), "short_description": .string(shortDescription),
            "long_description": .string(longDescription), "severity": .string(severity),
        ]
    }

    public init?(json: JSONValue) {
        guard let code = json["code"]?.stringValue else { return nil }
        self.init(
            code: code, risk: json["risk"]?.stringValue ?? code,
            shortDescription: json["short_description"]?.stringValue ?? "",
            longDescription: json["long_description"]?.stringValue ?? "",
            severity: json["severity"]?.stringValue ?? "medium")
    }
}

/// What a node-result report does to its session.
public enum NodeReportEffect: Sendable, Equatable {
    /// The session moves to `In Progress` if it was waiting, and is decided
    /// once every node has a result.
    case progress
    /// The node changes; the session's status does not (a person decides).
    case recordOnly
    /// The session is closed to new results.
    case refused
}

extension SessionStateMachine {
    public static func nodeReportEffect(current: SessionStatus) -> NodeReportEffect {
        switch current {
        case .notStarted, .inProgress, .resubmitted: .progress
        case .inReview, .approved, .declined, .awaitingUser: .recordOnly
        case .expired, .abandoned, .kycExpired: .refused
        }
    }
}
