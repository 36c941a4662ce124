import Foundation

/// Instants are stored as integer milliseconds since the Unix epoch, the
/// same on SQLite and PostgreSQL, and shown as ISO 8601 UTC with milliseconds.
public enum Timestamp {
    /// The nearest whole millisecond: a parsed `.847` is 0.84699… as a
    /// Double, which rounding down would store as 846.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `2026-05-24T10:23:17.628Z`, from the nearest whole millisecond:
    /// formatting the Double fraction itself can show .846 for a stored .847.
    public static func iso8601(_ date: Date) -> String {
        let (seconds, fraction) = milliseconds(date).quotientAndRemainder(dividingBy: 1000)
        let (whole, remainder) = fraction < 0 ? (seconds - 1, fraction + 1000) : (seconds, fraction)
        let text = Date(timeIntervalSince1970: Double(whole)).formatted(
            Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!))
        return String(text.dropLast()) + "." + String(String(remainder + 1000).dropFirst()) + "Z"
    }

    public static func iso8601(milliseconds: Int64) -> String {
        iso8601(date(milliseconds: milliseconds))
    }

    /// Accepts ISO 8601: `YYYY-MM-DD` (midnight UTC) or
    /// `YYYY-MM-DDTHH:MM[:SS[.fraction]][Z|±HH:MM]` (UTC when no zone is
    /// given). Out-of-range fields (hour 25, 31 February) are refused rather
    /// than rolled over. Nil otherwise.
    public static func parse(_ text: String) -> Date? {
        let pattern = #/^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?)?$/#
        guard let match = text.trimmingCharacters(in: .whitespaces).wholeMatch(of: pattern) else { return nil }
        let year = Int(match.1)!, month = Int(match.2)!, day = Int(match.3)!
        let hour = match.4.map { Int($0)! } ?? 0
        let minute = match.5.map { Int($0)! } ?? 0
        let second = match.6.map { Int($0)! } ?? 0
        guard (1...12).contains(month), (1...31).contains(day), hour <= 23, minute <= 59, second <= 59 else {
            return nil
        }
        var offsetSeconds = 0
        if let zone = match.8, zone != "Z", zone != "z" {
            let digits = zone.dropFirst().filter(\.isNumber)
            let hours = Int(digits.prefix(2))!, minutes = Int(digits.suffix(2))!
            guard hours <= 23, minutes <= 59 else { return nil }
            offsetSeconds = (hours * 3600 + minutes * 60) * (zone.first == "-" ? -1 : 1)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let date = calendar.date(from: components),
            calendar.component(.day, from: date) == day, calendar.component(.month, from: date) == month
        else { return nil }
        let fraction = match.7.map { Double("0." + $0)! } ?? 0
        return date.addingTimeInterval(fraction - Double(offsetSeconds))
    }
}
