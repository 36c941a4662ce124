/// A status written as a label (`Kyc Expired`) that requests may also send
/// in upper-snake form (`KYC_EXPIRED`).
public protocol LabelledStatus: RawRepresentable, CaseIterable where RawValue == String {}

extension LabelledStatus {
    /// `KYC_EXPIRED` for `Kyc Expired`.
    public var upperSnake: String {
        rawValue.uppercased().replacingOccurrences(of: " ", with: "_")
    }

    /// The label or its upper-snake form; nil for anything else.
    public init?(label: String) {
        guard let status = Self(rawValue: label) ?? Self.allCases.first(where: { $0.upperSnake == label }) else {
            return nil
        }
        self = status
    }
}

/// A verification session's status: the exact, case-sensitive labels of
/// `sessions.md`. Requests may also use the upper-snake form
/// (`KYC_EXPIRED`); responses always use the label.
public enum SessionStatus: String, LabelledStatus, Sendable, Hashable, Codable {
    case notStarted = "Not Started"
    case inProgress = "In Progress"
    case inReview = "In Review"
    case approved = "Approved"
    case declined = "Declined"
    case resubmitted = "Resubmitted"
    case awaitingUser = "Awaiting User"
    case expired = "Expired"
    case abandoned = "Abandoned"
    case kycExpired = "Kyc Expired"

    /// Statuses in which the end user may still act: a new session with the
    /// same `vendor_data` reuses one of these instead of starting another.
    public var isUnfinished: Bool {
        switch self {
        case .notStarted, .inProgress, .resubmitted, .awaitingUser: true
        default: false
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let status = SessionStatus(label: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "'\(text)' is not a valid status; expected one of: \(SessionStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        self = status
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The status of one node (feature step) within a session.
public enum NodeStatus: String, LabelledStatus, Sendable, Hashable, Codable {
    case notStarted = "Not Started"
    case inProgress = "In Progress"
    case approved = "Approved"
    case declined = "Declined"
    case inReview = "In Review"
    case notFinished = "Not Finished"
    case expired = "Expired"

    /// A node with one of these has a result the decision rule can use.
    public var isResult: Bool {
        switch self {
        case .approved, .declined, .inReview: true
        default: false
        }
    }
}
