import Crypto
import Foundation

/// The token a preview hands out and update-status checks: an expiry and an
/// HMAC over that expiry and the exact message (recipient, sender, subject,
/// both parts), so any change to what would be sent (another address, other
/// steps, edited templates, a new sender name) makes it stale.
public enum EmailPreviewToken {
    public static let lifetime: TimeInterval = 15 * 60

    public static func make(for message: MailMessage, kind: EmailKind, expires: Date, key: SymmetricKey) -> String {
        let expiry = Int64((expires.timeIntervalSince1970 * 1000).rounded())
        return "\(expiry).\(Hex.encode(Data(mac(message, kind: kind, expiry: expiry, key: key))))"
    }

    /// True when `token` was made for exactly this message and has not expired.
    public static func matches(_ token: String, message: MailMessage, kind: EmailKind, now: Date, key: SymmetricKey) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let expiry = Int64(parts[0]), let given = hexBytes(parts[1]), given.count == 32 else {
            return false
        }
        guard Double(expiry) / 1000 > now.timeIntervalSince1970 else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: content(message, kind: kind, expiry: expiry), using: key)
    }

    static func mac(_ message: MailMessage, kind: EmailKind, expiry: Int64, key: SymmetricKey) -> HashedAuthenticationCode<SHA256> {
        HMAC<SHA256>.authenticationCode(for: content(message, kind: kind, expiry: expiry), using: key)
    }

    /// Length-prefixed fields, so no two different messages share an input.
    static func content(_ message: MailMessage, kind: EmailKind, expiry: Int64) -> Data {
        var data = Data("clearance email preview v1".utf8)
        for field in [String(expiry), kind.rawValue, message.language, message.to, message.fromName, message.fromAddress,
                      message.subject, message.text, message.html] {
            let bytes = Data(field.utf8)
            data.append(contentsOf: withUnsafeBytes(of: UInt64(bytes.count).bigEndian, Array.init))
            data.append(bytes)
        }
        return data
    }

    static func hexBytes(_ text: Substring) -> Data? {
        guard text.count % 2 == 0 else { return nil }
        var out = Data()
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            out.append(byte)
            index = next
        }
        return out
    }
}
