import Foundation
import ClearanceDomain

/// What `serve` was told. Parsing from flags and environment lives in the
/// CLI; these are the values after validation.
public struct ServerConfiguration: Sendable {
    public static let defaultBodyLimit = 30 * 1024 * 1024

    public var host: String
    public var port: Int
    /// Base for absolute links (`url`, `next`): no trailing slash.
    public var publicURL: String
    public var bodyLimit: Int
    /// Lets webhooks go to http:// and private, loopback or link-local
    /// addresses (`CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS=1`). Off by default.
    public var allowPrivateWebhookTargets: Bool
    /// Reviewer console: sessions in review longer than this are overdue
    /// (`CLEARANCE_REVIEW_SLA_HOURS`).
    public var reviewSLAHours: Double = 24
    /// Reviewer console: password hashing, lock-out and session lifetimes.
    public var consolePolicy = ConsolePolicy()

    public init(
        host: String = "127.0.0.1", port: Int = 8080, publicURL: String? = nil, bodyLimit: Int = defaultBodyLimit,
        allowPrivateWebhookTargets: Bool = false
    ) {
        self.allowPrivateWebhookTargets = allowPrivateWebhookTargets
        self.host = host
        self.port = port
        self.publicURL = (publicURL ?? "http://\(host):\(port)").trimmingSuffix("/")
        self.bodyLimit = bodyLimit
    }

    /// The organisation's name and address on emails to the people verified.
    public var emailSender = EmailSender()
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var out = self
        while out.hasSuffix(suffix) { out.removeLast(suffix.count) }
        return out
    }
}
