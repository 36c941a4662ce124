import Foundation

/// DALP ids: a type prefix and a lower-case ULID (`kycv_01hzt7n4…`), so an id
/// names what it points at and sorts by creation time.
public enum KYCIdentifier: String, Sendable, CaseIterable {
    case user = "usr"
    case version = "kycv"
    case actionRequest = "kycar"
    case document = "kycd"
    case attestation = "kyca"

    static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    /// A new id: 48 bits of milliseconds, 80 random bits, Crockford base32.
    public func make(now: Date = Date()) -> String {
        var rng = SystemRandomNumberGenerator()
        return make(milliseconds: UInt64(max(0, Timestamp.milliseconds(now))), random: (0..<10).map { _ in UInt8.random(in: .min ... .max, using: &rng) })
    }

    func make(milliseconds: UInt64, random: [UInt8]) -> String {
        // 128 bits as two words: time (48) ‖ randomness (80).
        var high = (milliseconds & 0xFFFF_FFFF_FFFF) << 16 | UInt64(random[0]) << 8 | UInt64(random[1])
        var low: UInt64 = 0
        for byte in random[2..<10] { low = low << 8 | UInt64(byte) }
        var chars = [UInt8](repeating: 0, count: 26)
        for index in stride(from: 25, through: 0, by: -1) {
            chars[index] = Self.alphabet[Int(low & 31)]
            low = low >> 5 | (high & 31) << 59
            high >>= 5
        }
        return rawValue + "_" + String(decoding: chars, as: UTF8.self)
    }

    /// True for `<prefix>_` and 26 Crockford base32 characters (either case)
    /// whose first is at most `7` (a ULID is 128 bits).
    public func matches(_ text: String) -> Bool {
        let prefix = rawValue + "_"
        guard text.hasPrefix(prefix) else { return false }
        // Upper case to lower; only letters (`| 0x20` on any byte read 0x10…0x19 as digits).
        let body = Array(text.utf8.dropFirst(prefix.utf8.count)).map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
        guard body.count == 26, let first = body.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "7") else {
            return false
        }
        return body.allSatisfy { Self.alphabet.contains($0) }
    }

    /// The stored spelling (lower case) of a matching id; nil otherwise.
    public func normalize(_ text: String) -> String? {
        matches(text) ? text.lowercased() : nil
    }
}
