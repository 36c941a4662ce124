import Foundation
import ClearanceServer
import ClearanceStore

/// Every setting is a flag and an environment variable; the flag wins, then
/// the variable, then the default. These functions take the environment as
/// a dictionary so tests can hand them one.
public enum Settings {
    public static let defaultDataDirectory = ".clearance"
    public static let defaultListen = "127.0.0.1:8080"

    public static func dataDirectory(flag: String?, environment: [String: String]) throws -> String {
        let value = flag ?? environment["CLEARANCE_DATA_DIR"] ?? defaultDataDirectory
        guard !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigurationError(setting: "CLEARANCE_DATA_DIR", "must name a directory")
        }
        return value
    }

    public static func database(flag: String?, dataDirectory: String, environment: [String: String]) throws
        -> DatabaseLocation
    {
        guard let text = flag ?? environment["CLEARANCE_DATABASE_URL"] else {
            return .sqliteFile(path: (dataDirectory as NSString).appendingPathComponent("clearance.db"))
        }
        do {
            return try DatabaseLocation.parse(text)
        } catch let error as DatabaseLocation.ParseError {
            throw ConfigurationError(setting: "CLEARANCE_DATABASE_URL", error.description)
        }
    }

    public static func dataKeyFile(flag: String?, dataDirectory: String, environment: [String: String]) -> String {
        flag ?? environment["CLEARANCE_DATA_KEY_FILE"]
            ?? (dataDirectory as NSString).appendingPathComponent("data.key")
    }

    /// `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all interfaces).
    public static func listen(flag: String?, environment: [String: String]) throws -> (host: String, port: Int) {
        let text = flag ?? environment["CLEARANCE_LISTEN"] ?? defaultListen
        let bad = ConfigurationError(setting: "CLEARANCE_LISTEN", "'\(text)' is not HOST:PORT (for example 127.0.0.1:8080)")
        guard let colon = text.lastIndex(of: ":") else { throw bad }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (0...65535).contains(port) else { throw bad }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        guard !host.contains(" "), !host.contains("/") else { throw bad }
        return (host, port)
    }

    public static func publicURL(flag: String?, environment: [String: String], host: String, port: Int) throws -> String {
        guard let text = flag ?? environment["CLEARANCE_PUBLIC_URL"] else {
            let shownHost = host == "0.0.0.0" ? "127.0.0.1" : (host.contains(":") ? "[\(host)]" : host)
            return "http://\(shownHost):\(port)"
        }
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host?.isEmpty == false, url.query == nil
        else {
            throw ConfigurationError(setting: "CLEARANCE_PUBLIC_URL", "'\(text)' is not an http(s) base URL")
        }
        return text
    }

    public static func bodyLimit(flag: Int?, environment: [String: String]) throws -> Int {
        if let flag { return try checkedBodyLimit(flag, text: String(flag)) }
        guard let text = environment["CLEARANCE_BODY_LIMIT"] else { return ServerConfiguration.defaultBodyLimit }
        guard let value = Int(text) else {
            throw ConfigurationError(setting: "CLEARANCE_BODY_LIMIT", "'\(text)' is not a number of bytes")
        }
        return try checkedBodyLimit(value, text: text)
    }

    private static func checkedBodyLimit(_ value: Int, text: String) throws -> Int {
        guard value >= 1024 else {
            throw ConfigurationError(setting: "CLEARANCE_BODY_LIMIT", "'\(text)' is below the minimum of 1024 bytes")
        }
        return value
    }

    public static func logLevel(flag: String?, environment: [String: String]) throws -> String {
        let value = flag ?? environment["CLEARANCE_LOG_LEVEL"] ?? "info"
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        guard levels.contains(value) else {
            throw ConfigurationError(
                setting: "CLEARANCE_LOG_LEVEL", "'\(value)' is not one of \(levels.joined(separator: ", "))")
        }
        return value
    }

    public static func server(flag: String?, environment: [String: String]) throws -> String {
        let value = flag ?? environment["CLEARANCE_SERVER"] ?? "http://\(defaultListen)"
        guard let url = URLComponents(string: value), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw ConfigurationError(setting: "CLEARANCE_SERVER", "'\(value)' is not an http(s) URL")
        }
        return value
    }

    public static func sweepInterval(flag: Double?, environment: [String: String]) throws -> Double {
        let text = flag.map { String($0) } ?? environment["CLEARANCE_SWEEP_INTERVAL"] ?? "30"
        guard let value = Double(text), value >= 0.05, value <= 86400 else {
            throw ConfigurationError(setting: "CLEARANCE_SWEEP_INTERVAL", "'\(text)' is not a number of seconds from 0.05 to 86400")
        }
        return value
    }

    /// `CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS`: 1/true/yes or 0/false/no.
    public static func allowPrivateWebhookTargets(flag: Bool, environment: [String: String]) throws -> Bool {
        if flag { return true }
        guard let text = environment["CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS"] else { return false }
        switch text.lowercased() {
        case "1", "true", "yes": return true
        case "0", "false", "no", "": return false
        default:
            throw ConfigurationError(setting: "CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS", "'\(text)' is not 1 or 0")
        }
    }

    /// `CLEARANCE_WEBHOOK_RETRY_SCALE`: multiplies the retry schedule. For
    /// tests only (e.g. 0.001 turns 5 s into 5 ms); never set in production.
    public static func webhookRetryScale(environment: [String: String]) throws -> Double {
        guard let text = environment["CLEARANCE_WEBHOOK_RETRY_SCALE"] else { return 1 }
        guard let value = Double(text), value > 0, value <= 1 else {
            throw ConfigurationError(setting: "CLEARANCE_WEBHOOK_RETRY_SCALE", "'\(text)' is not a number in (0, 1]")
        }
        return value
    }

    /// `CLEARANCE_REVIEW_SLA_HOURS`: the reviewer console marks sessions in
    /// review longer than this as overdue.
    public static func reviewSLAHours(flag: Double?, environment: [String: String]) throws -> Double {
        let text = flag.map { String($0) } ?? environment["CLEARANCE_REVIEW_SLA_HOURS"] ?? "24"
        guard let value = Double(text), value > 0, value <= 8760 else {
            throw ConfigurationError(setting: "CLEARANCE_REVIEW_SLA_HOURS", "'\(text)' is not a number of hours from 0 to 8760")
        }
        return value
    }
}
