import Crypto

import Foundation

/// The secret an integration sends. Its text is
/// `clr_<environment>_<lookup id>_<secret>`: the lookup id finds the row, the
/// secret (32 random bytes, base64url) is checked against a stored SHA-256
/// hash in constant time. Only the hash is ever stored.
public struct APIKeyToken: Sendable, Equatable {
    public static let secretByteCount = 32
    public static let lookupIDLength = 16

    public var environment: KeyEnvironment
    public var lookupID: String
    public var secret: String

    public init(environment: KeyEnvironment, lookupID: String, secret: String) {
        self.environment = environment
        self.lookupID = lookupID
        self.secret = secret
    }

    /// A fresh token from the system's cryptographic random source.
    public static func generate(environment: KeyEnvironment) -> APIKeyToken {
        var rng = SystemRandomNumberGenerator()
        let idBytes = (0..<(lookupIDLength / 2)).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        let secretBytes = (0..<secretByteCount).map { _ in UInt8.random(in: .min ... .max, using: &rng) }
        return APIKeyToken(
            environment: environment,
            lookupID: Hex.encode(idBytes),
            secret: Base64URL.encode(secretBytes)
        )
    }

    public var text: String { "clr_\(environment.rawValue)_\(lookupID)_\(secret)" }

    /// Parses a presented key; nil for anything not shaped like one. Read
    /// as bytes (every API request parses one): the secret is base64url, so
    /// it may hold "_" itself, and only ASCII is a valid key.
    public init?(text: String) {
        let bytes = Array(text.utf8)
        let underscore = UInt8(ascii: "_")
        guard bytes.starts(with: "clr_".utf8), let environmentEnd = bytes[4...].firstIndex(of: underscore),
            let environment = KeyEnvironment(rawValue: String(decoding: bytes[4..<environmentEnd], as: UTF8.self))
        else { return nil }
        let idStart = environmentEnd + 1
        let idEnd = idStart + Self.lookupIDLength
        guard idEnd < bytes.count, bytes[idEnd] == underscore, bytes[idStart..<idEnd].allSatisfy(Hex.isDigit),
            bytes.count - (idEnd + 1) == Self.secretTextLength
        else { return nil }
        self.init(
            environment: environment, lookupID: String(decoding: bytes[idStart..<idEnd], as: UTF8.self),
            secret: String(decoding: bytes[(idEnd + 1)...], as: UTF8.self))
    }

    /// 32 bytes in unpadded base64url.
    static let secretTextLength = 43

    /// Hex SHA-256 of the secret: what the store keeps.
    public var secretHash: String { Self.hash(secret: secret) }

    public static func hash(secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).hexString
    }

    /// Compares the presented secret's hash with a stored one without
    /// stopping at the first differing byte.
    public func matches(storedHash: String) -> Bool {
        ConstantTime.equals(Array(secretHash.utf8), Array(storedHash.utf8))
    }

    /// First characters shown in listings so a person can tell keys apart.
    public var displayPrefix: String { "clr_\(environment.rawValue)_\(lookupID.prefix(6))" }
}

public enum ConstantTime {
    /// Equality whose time depends only on the lengths of its inputs.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

extension Digest {
    public var hexString: String { Hex.encode(self) }
}

public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Whether `byte` is a digit `encode` writes (lower-case hex).
    public static func isDigit(_ byte: UInt8) -> Bool { digits.contains(byte) }

    /// Lower-case hex, without `String(format:)` (which costs a formatter per byte).
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

public enum Base64URL {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map { Array($0) }
    }
}
