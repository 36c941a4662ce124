import Foundation

/// Where and how to reach the SMTP server, from `CLEARANCE_SMTP_URL`:
/// `smtp://[user:password@]host[:port][?starttls=required|never]` (STARTTLS,
/// required by default, port 587) or `smtps://…` (TLS from the first byte,
/// port 465). Certificates are always verified; `caFile` adds a trusted CA.
public struct SMTPConfiguration: Sendable, Equatable {
    public enum Security: Sendable, Equatable {
        case startTLS
        case implicitTLS
        /// Plain text throughout: only for a relay on the same host or a
        /// closed network (`?starttls=never`).
        case none
    }

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var security: Security
    public var caFile: String?
    /// The name this client gives in EHLO.
    public var heloName: String

    public init(
        host: String, port: Int, username: String? = nil, password: String? = nil, security: Security, caFile: String? = nil,
        heloName: String = "clearance.local"
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.security = security
        self.caFile = caFile
        self.heloName = heloName
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String, caFile: String? = nil) throws -> SMTPConfiguration {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else { throw ParseError(description: "is not smtp://[user:password@]host[:port] or smtps://…") }
        var security: Security
        switch scheme {
        case "smtp": security = .startTLS
        case "smtps": security = .implicitTLS
        default: throw ParseError(description: "scheme must be smtp or smtps")
        }
        for item in url.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("starttls", "required") where scheme == "smtp": security = .startTLS
            case ("starttls", "never") where scheme == "smtp": security = .none
            default: throw ParseError(description: "unknown option '\(item.name)=\(item.value ?? "")' (smtp:// takes starttls=required|never)")
            }
        }
        if let port = url.port, !(1...65535).contains(port) { throw ParseError(description: "port out of range") }
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return SMTPConfiguration(
            host: bareHost, port: url.port ?? (security == .implicitTLS ? 465 : 587),
            username: url.percentEncodedUser.flatMap { $0.removingPercentEncoding },
            password: url.percentEncodedPassword.flatMap { $0.removingPercentEncoding }, security: security, caFile: caFile)
    }

    /// For logs: no credentials.
    public var summary: String {
        let scheme = security == .implicitTLS ? "smtps" : "smtp"
        let mode = security == .none ? " (no TLS)" : ""
        return "\(scheme)://\(username == nil ? "" : "***@")\(host):\(port)\(mode)"
    }
}

/// Described, printed and mirrored without the password: ServiceLifecycle
/// logs every service it starts at debug level as `String(describing:)`, and
/// the email worker holds this configuration through its transport (the
/// compat suite found the password in `serve`'s log).
extension SMTPConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "SMTPConfiguration(\(summary))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["summary": summary, "caFile": caFile as Any, "heloName": heloName], displayStyle: .struct)
    }
}
