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
    /// `YYYY-MM-DD(T|t| )HH:MM[:SS[.fraction of 1–9 digits]][Z|z|±HH[:]MM]`
    /// (UTC when no zone is given), ASCII digits only, nothing around it.
    /// Dates are proleptic Gregorian (1500-02-29 does not exist, 1582-10-10
    /// does, as in RFC 3339 and JSON Schema's `format: date`); out-of-range
    /// fields (hour 24, 31 February, second 60) are refused rather than
    /// rolled over. Nil otherwise. `openapi.yaml` spells the same grammar as
    /// a pattern (`DateOrTime`).
    public static func parse(_ text: String) -> Date? {
        // `[0-9]`, not `\d`: `\d` matches any script's digits, which `Int` then refuses.
        let pattern = #/^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?(Z|z|[+-][0-9]{2}:?[0-9]{2})?)?$/#
        guard let match = text.wholeMatch(of: pattern),
            let year = Int(match.1), let month = Int(match.2), let day = Int(match.3)
        else { return nil }
        let hour = match.4.flatMap { Int($0) } ?? 0
        let minute = match.5.flatMap { Int($0) } ?? 0
        let second = match.6.flatMap { Int($0) } ?? 0
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }
        var offsetSeconds = 0
        if let zone = match.8, zone != "Z", zone != "z" {
            let digits = zone.dropFirst().filter { $0 != ":" }
            guard let hours = Int(digits.prefix(2)), let minutes = Int(digits.suffix(2)), hours <= 23, minutes <= 59 else {
                return nil
            }
            offsetSeconds = (hours * 3600 + minutes * 60) * (zone.first == "-" ? -1 : 1)
        }
        let seconds = daysFromCivil(year: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60 + second
        let fraction = match.7.flatMap { Double("0." + $0) } ?? 0
        return Date(timeIntervalSince1970: Double(seconds - offsetSeconds) + fraction)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
    /// `days_from_civil`), without a `Calendar`: Foundation's Gregorian
    /// calendar switches to the Julian one before October 1582.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }
}
