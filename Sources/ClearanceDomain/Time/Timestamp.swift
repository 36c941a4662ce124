import Foundation

/// Instants are stored as integer milliseconds since the Unix epoch, the
/// same on SQLite and PostgreSQL, and shown as ISO 8601 UTC with milliseconds.
public enum Timestamp {
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `2026-05-24T10:23:17.628Z`.
    public static func iso8601(_ date: Date) -> String {
        date.formatted(
            Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }

    public static func iso8601(milliseconds: Int64) -> String {
        iso8601(date(milliseconds: milliseconds))
    }

    /// Accepts ISO 8601 with or without fractional seconds and with any
    /// offset, or a bare `YYYY-MM-DD` (midnight UTC). Nil otherwise.
    public static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let date = try? Date(trimmed, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return date
        }
        if let date = try? Date(trimmed, strategy: Date.ISO8601FormatStyle()) {
            return date
        }
        if trimmed.count == 10,
            let date = try? Date(
                trimmed,
                strategy: Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!).year().month().day())
        {
            return date
        }
        return nil
    }
}
