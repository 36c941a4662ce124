import Foundation
import Hummingbird

/// Query parameters decoded as browsers and HTTP clients encode them:
/// `+` is a space (form encoding, what httpx and requests send for
/// `status=In Review`), `%2B` a plus. The first value of a name wins.
struct Query: Sendable {
    private var values: [String: String] = [:]

    init(_ request: Request) {
        guard let raw = request.uri.query else { return }
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { continue }
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            if values[name] == nil, let value { values[name] = value }
        }
    }

    func get(_ name: String) -> String? { values[name] }

    static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
