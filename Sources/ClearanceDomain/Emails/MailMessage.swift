import Foundation

/// A rendered email, ready to become MIME. Text fields hold any Unicode;
/// `MIMEBuilder` makes them safe on the wire.
public struct MailMessage: Sendable, Equatable, Codable {
    public var fromName: String
    public var fromAddress: String
    public var to: String
    public var subject: String
    public var text: String
    public var html: String
    /// The language tag of the content (`Content-Language`).
    public var language: String

    public init(fromName: String, fromAddress: String, to: String, subject: String, text: String, html: String, language: String) {
        self.fromName = fromName
        self.fromAddress = fromAddress
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.language = language
    }
}

/// Builds RFC 5322 / MIME messages: `multipart/alternative` with a UTF-8
/// plain-text part and an HTML part, both base64 (safe for every script and
/// for SMTP's line limits), RFC 2047 encoded words for non-ASCII headers.
/// No caller-supplied text reaches a header unencoded, so CR/LF in a name or
/// subject can never start a new header.
public enum MIMEBuilder {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `messageID` is the part inside `<…>`, e.g. `uuid@sender.domain`.
    public static func build(_ message: MailMessage, messageID: String, date: Date, boundary: String) throws -> String {
        for (name, address) in [("from", message.fromAddress), ("to", message.to)] where !FieldRules.isEmail(address) || !address.allSatisfy(\.isASCII) {
            throw Failure(description: "the \(name) address is not a plain ASCII email address")
        }
        var lines: [String] = []
        lines.append("From: \(mailbox(name: message.fromName, address: message.fromAddress))")
        lines.append("To: <\(message.to)>")
        lines.append("Subject: \(encodedWords(message.subject, prefixLength: 9))")
        lines.append("Date: \(rfc5322Date(date))")
        lines.append("Message-ID: <\(messageID)>")
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Language: \(headerSafe(message.language))")
        lines.append("Auto-Submitted: auto-generated")
        lines.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
        lines.append("")
        lines.append("--\(boundary)")
        lines.append("Content-Type: text/plain; charset=utf-8")
        lines.append("Content-Transfer-Encoding: base64")
        lines.append("")
        lines += base64Lines(normalizeNewlines(message.text))
        lines.append("--\(boundary)")
        lines.append("Content-Type: text/html; charset=utf-8")
        lines.append("Content-Transfer-Encoding: base64")
        lines.append("")
        lines += base64Lines(normalizeNewlines(message.html))
        lines.append("--\(boundary)--")
        lines.append("")
        return lines.joined(separator: "\r\n")
    }

    /// `"Name" <address>` with the name as encoded words when it is not
    /// plain printable ASCII without specials.
    static func mailbox(name: String, address: String) -> String {
        let cleaned = headerSafe(name)
        if cleaned.isEmpty { return "<\(address)>" }
        let plain = cleaned.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == " " || $0 == "-" || $0 == ".") }
        // A name with specials (`:`, `@`, `<`, quotes…) is always encoded, so
        // it can never read as an address or a group.
        return plain ? "\"\(cleaned)\" <\(address)>" : "\(encodedWords(cleaned, prefixLength: 6, force: true)) <\(address)>"
    }

    /// Control characters (CR and LF included) become spaces.
    public static func headerSafe(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
            .trimmingCharacters(in: .whitespaces)
    }

    /// Plain ASCII text as is (folded at spaces); anything else as
    /// `=?UTF-8?B?…?=` words of at most 75 characters, split between
    /// characters (never inside a UTF-8 sequence), folded with CRLF SP.
    static func encodedWords(_ text: String, prefixLength: Int, force: Bool = false) -> String {
        let cleaned = headerSafe(text)
        let printable = cleaned.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 }
        if !force && printable && !cleaned.contains("=?") && cleaned.count + prefixLength <= 78 { return cleaned }
        var words: [String] = []
        var chunk: [UInt8] = []
        // 45 bytes → 60 base64 characters + 12 of framing = 72 ≤ 75.
        for character in cleaned {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45, !chunk.isEmpty {
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    static func normalizeNewlines(_ text: String) -> String {
        text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\n", with: "\r\n")
    }

    static func base64Lines(_ text: String) -> [String] {
        let encoded = Data(text.utf8).base64EncodedString()
        var lines: [String] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines
    }

    public static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    /// SMTP `DATA` payload: every line starting with `.` gets another
    /// (RFC 5321 §4.5.2); ends with the lone-dot terminator.
    public static func dotStuffed(_ message: String) -> String {
        var lines = message.components(separatedBy: "\r\n")
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n.\r\n"
    }
}
