import Foundation

/// Row ids, as lower-case UUID text.
///
/// Why not `UUID()`: on Linux it opens, reads and closes `/dev/urandom` for
/// every id (strace of the status-change benchmark: 3,641 `openat` in two
/// seconds); the bytes come from `RandomPool` (one `getentropy` a 16 ids).
public enum Identifier {
    /// A random (version 4) UUID: ids handed to outsiders, where creation
    /// time should not show (sessions, keys, destinations, users).
    public static func random() -> String {
        let (high, low) = RandomPool.words()
        var bytes = bytes(high, low)
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return text(bytes)
    }

    /// A time-ordered (version 7, RFC 9562) UUID: for rows appended in time
    /// order (reviews, events, deliveries, audit entries), so an insert lands
    /// at the end of the primary-key index instead of on a random page that
    /// the commit must then write.
    public static func timeOrdered(at date: Date = Date()) -> String {
        let (high, low) = RandomPool.words()
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000)) & 0xFFFF_FFFF_FFFF
        var bytes = bytes(milliseconds << 16 | (high & 0xFFFF), low)
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return text(bytes)
    }

    private static func bytes(_ high: UInt64, _ low: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    private static let digits = Array("0123456789abcdef".utf8)

    private static func text(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            for (position, byte) in bytes.enumerated() {
                if position == 4 || position == 6 || position == 8 || position == 10 {
                    buffer[index] = UInt8(ascii: "-")
                    index += 1
                }
                buffer[index] = digits[Int(byte >> 4)]
                buffer[index + 1] = digits[Int(byte & 0x0F)]
                index += 2
            }
            return index
        }
    }
}
