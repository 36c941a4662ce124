/// One reason a request was refused, naming the field it is about
/// (`contact_details.email`, `nodes_to_resubmit[1]`, `body` for the whole).
public struct FieldIssue: Sendable, Equatable, Codable {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
}

/// A request that fails validation: every issue found, none applied.
public struct ValidationFailure: Error, Sendable, Equatable {
    public var issues: [FieldIssue]

    public init(_ issues: [FieldIssue]) { self.issues = issues }

    public init(path: String, message: String) {
        self.issues = [FieldIssue(path: path, message: message)]
    }

    /// "field: message; other: message".
    public var summary: String {
        issues.map { "\($0.path): \($0.message)" }.joined(separator: "; ")
    }
}
