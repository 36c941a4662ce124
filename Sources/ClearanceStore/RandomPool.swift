#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers

/// Random bytes for ids, read from the kernel 4 KiB at a time (16 calls of
/// `getentropy`, that is 16 ids a system call).
///
/// Why: `SystemRandomNumberGenerator` makes one `getrandom` call per
/// 8 bytes, so every id cost two system calls; a status change makes four
/// ids (request, review, audit entry, event), three of them inside the
/// single writer. The bytes are the kernel's CSPRNG output either way; they
/// only wait in memory until used. Not for secrets (keys, tokens): those
/// keep asking the kernel directly.
enum RandomPool {
    private static let size = 4096
    private struct State {
        var bytes = [UInt8](repeating: 0, count: RandomPool.size)
        var next = RandomPool.size
    }
    private static let state = NIOLockedValueBox(State())

    /// Two random 64-bit words.
    static func words() -> (UInt64, UInt64) {
        state.withLockedValue { state in
            if state.next + 16 > size {
                refill(&state.bytes)
                state.next = 0
            }
            defer { state.next += 16 }
            return state.bytes.withUnsafeBytes { raw in
                (raw.loadUnaligned(fromByteOffset: state.next, as: UInt64.self),
                 raw.loadUnaligned(fromByteOffset: state.next + 8, as: UInt64.self))
            }
        }
    }

    private static func refill(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            // `getentropy` fills at most 256 bytes a call; it fails only for
            // a bad buffer, which this is not.
            for offset in stride(from: 0, to: buffer.count, by: 256) {
                precondition(getentropy(buffer.baseAddress! + offset, min(256, buffer.count - offset)) == 0, "getentropy failed")
            }
        }
    }
}
