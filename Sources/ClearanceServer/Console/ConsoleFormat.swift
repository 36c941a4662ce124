import Foundation
import ClearanceDomain

/// How the console shows times, ages and statuses.
enum ConsoleFormat {
    static func time(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d UTC", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }

    /// With seconds, where order within a minute matters (the audit trail).
    static func preciseTime(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    /// An audit before/after object as "key: value" lines.
    static func lines(_ value: JSONValue?) -> String {
        guard let value else { return "" }
        guard case .object(let members) = value else { return Self.value(value) }
        return members.keys.sorted().map { "\($0): \(Self.value(members[$0]!))" }.joined(separator: "\n")
    }

    /// "2 d 3 h", "5 h 10 min", "12 min", "just now".
    static func age(_ interval: TimeInterval) -> String {
        let minutes = Int(max(0, interval) / 60)
        if minutes < 1 { return "just now" }
        if minutes < 60 { return "\(minutes) min" }
        let hours = minutes / 60
        if hours < 24 { return "\(hours) h \(minutes % 60) min" }
        return "\(hours / 24) d \(hours % 24) h"
    }

    /// CSS class for a session, node or delivery status.
    static func statusClass(_ status: String) -> String {
        switch status {
        case "Approved", "delivered", "approved": "ok"
        case "Declined", "failed", "rejected", "Expired", "Kyc Expired": "bad"
        case "In Review", "Resubmitted", "under_review", "pending": "wait"
        case "In Progress", "Awaiting User", "in_flight": "info"
        default: "muted"
        }
    }

    static func status(_ status: String) -> [String: Any] {
        ["label": status, "class": statusClass(status)]
    }

    /// A JSON value as text for a table cell.
    static func value(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .null: "—"
        default: value.canonicalText
        }
    }

    /// An object's members as label/value rows, in key order.
    static func rows(_ value: JSONValue?) -> [[String: Any]] {
        guard case .object(let members)? = value else { return [] }
        return members.keys.sorted().map { key in
            ["label": key.replacingOccurrences(of: "_", with: " "), "value": Self.value(members[key]!)]
        }
    }
}
