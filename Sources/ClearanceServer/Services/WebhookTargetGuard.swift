import Foundation
import ClearanceDomain

/// The SSRF guard: a webhook URL must be https and every address its host
/// resolves to must be public, unless the operator allowed private targets
/// (`CLEARANCE_ALLOW_PRIVATE_WEBHOOK_TARGETS=1`, for tests and closed
/// networks). Checked when a destination is saved and again before each
/// delivery.
public struct WebhookTargetGuard: Sendable {
    public var allowPrivate: Bool

    public init(allowPrivate: Bool) { self.allowPrivate = allowPrivate }

    /// Nil when `url` may be used; otherwise why not.
    public func refusal(for url: String) -> String? {
        guard url.count <= 2048, let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, components.user == nil, components.password == nil
        else { return "Must be an absolute URL without credentials." }
        if scheme != "https" && !(scheme == "http" && allowPrivate) {
            return "Must be an https:// URL."
        }
        if allowPrivate { return nil }
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let addresses = Self.resolve(bareHost)
        if addresses.isEmpty { return "The host '\(bareHost)' does not resolve." }
        for address in addresses {
            if case .refused(let reason) = AddressPolicy.classify(address) {
                return "The host resolves to \(reason) (\(address)); only public addresses are allowed."
            }
        }
        return nil
    }

    /// Every address `host` resolves to (numeric hosts resolve to themselves).
    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
                addresses.append(String(decoding: bytes, as: UTF8.self))
            }
            cursor = info.pointee.ai_next
        }
        return Array(Set(addresses)).sorted()
    }
}
