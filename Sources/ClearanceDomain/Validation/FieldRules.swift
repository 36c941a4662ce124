import Foundation

/// Checks for single request fields, shared by both API dialects.
public enum FieldRules {
    /// A plausible single address: one `@`, a dotted domain, no spaces or
    /// control characters (so it cannot smuggle mail headers).
    public static func isEmail(_ text: String) -> Bool {
        guard text.count <= 254, !text.contains(where: { $0.isWhitespace || $0.isNewline }),
            text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let domain = parts[1]
        guard domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains("..") else {
            return false
        }
        return !domain.contains(where: { "()<>,;:\\\"[]".contains($0) }) && !parts[0].contains(where: { "()<>,;:\\\"[]".contains($0) })
    }

    /// E.164-like: `+` and 7–15 digits.
    public static func isPhone(_ text: String) -> Bool {
        text.wholeMatch(of: /\+[1-9][0-9]{6,14}/) != nil
    }

    /// ISO 3166-1 alpha-3 shape (three upper-case letters).
    public static func isAlpha3(_ text: String) -> Bool {
        text.wholeMatch(of: /[A-Z]{3}/) != nil
    }

    /// ISO 3166-1 alpha-2 shape (two upper-case letters).
    public static func isAlpha2(_ text: String) -> Bool {
        text.wholeMatch(of: /[A-Z]{2}/) != nil
    }

    /// A real calendar date written `YYYY-MM-DD`.
    public static func date(_ text: String) -> Date? {
        guard text.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}/) != nil else { return nil }
        return Timestamp.parse(text)
    }

    public static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// An absolute http(s) URL without spaces.
    public static func isHTTPURL(_ text: String) -> Bool {
        guard text.count <= 2048, !text.contains(where: { $0.isWhitespace }),
            let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else { return false }
        return true
    }

    /// Text without control characters (newlines allowed only when asked).
    public static func isPlainText(_ text: String, allowNewlines: Bool = false) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            if allowNewlines && (scalar == "\n" || scalar == "\r" || scalar == "\t") { return true }
            return scalar.value >= 0x20 && !(0x7F...0x9F).contains(scalar.value)
        }
    }
}
