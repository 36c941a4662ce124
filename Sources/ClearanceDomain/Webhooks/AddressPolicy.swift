import Foundation

/// Which network addresses a webhook may be delivered to: only public
/// ones, unless the operator explicitly allows private targets. Pure: the
/// server resolves names and asks this about every address.
public enum AddressPolicy {
    public enum Verdict: Equatable, Sendable {
        case publicAddress
        case refused(String)
    }

    /// Classifies a numeric IPv4 or IPv6 address.
    public static func classify(_ address: String) -> Verdict {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            let bytes = withUnsafeBytes(of: v4.s_addr) { Array($0) }
            return classifyV4(bytes)
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            return classifyV6(bytes)
        }
        return .refused("not an IP address")
    }

    static func classifyV4(_ b: [UInt8]) -> Verdict {
        switch (b[0], b[1]) {
        case (0, _): return .refused("an unspecified (0.0.0.0/8) address")
        case (10, _): return .refused("a private (10.0.0.0/8) address")
        case (100, 64...127): return .refused("a shared (100.64.0.0/10) address")
        case (127, _): return .refused("a loopback address")
        case (169, 254): return .refused("a link-local address")
        case (172, 16...31): return .refused("a private (172.16.0.0/12) address")
        case (192, 168): return .refused("a private (192.168.0.0/16) address")
        case (192, 0) where b[2] == 0 || b[2] == 2: return .refused("a reserved (192.0.0.0/24 or TEST-NET-1) address")
        case (198, 18...19): return .refused("a benchmarking (198.18.0.0/15) address")
        case (198, 51) where b[2] == 100: return .refused("a documentation (TEST-NET-2) address")
        case (203, 0) where b[2] == 113: return .refused("a documentation (TEST-NET-3) address")
        case (224...255, _): return .refused("a multicast or reserved address")
        default: return .publicAddress
        }
    }

    static func classifyV6(_ b: [UInt8]) -> Verdict {
        if b.allSatisfy({ $0 == 0 }) { return .refused("the unspecified address") }
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return .refused("a loopback address") }
        // IPv4-mapped (::ffff:a.b.c.d): judge the IPv4 address.
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return classifyV4(Array(b[12..<16])) }
        if b[0] == 0xFE && (b[1] & 0xC0) == 0x80 { return .refused("a link-local address") }
        if (b[0] & 0xFE) == 0xFC { return .refused("a unique-local (fc00::/7) address") }
        if b[0] == 0xFF { return .refused("a multicast address") }
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8 { return .refused("a documentation (2001:db8::/32) address") }
        return .publicAddress
    }
}
