import Foundation
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The secrets and personal data that passed through one test server: its
/// keys, and every value of a sensitive field in the JSON (or form) bodies
/// its tests sent and got back. None may appear in the log.
public final class SecretLedger: Sendable {
    /// Field names whose values are credentials or personal data, in both
    /// dialects (sessions.md `expected_details`, kyc-profiles.md fields,
    /// access.md keys, webhooks.md secrets, the console's sign-in form).
    public static let sensitiveFields: Set<String> = [
        "key", "api_key", "x-api-key", "secret", "secret_shared_key", "standard_webhooks_secret", "password",
        "session_token", "first_name", "last_name", "full_name", "firstName", "lastName", "date_of_birth", "dob",
        "document_number", "identification_number", "nationalId", "personal_number", "email", "email_address",
        "phone", "address", "fileData", "portrait_image",
    ]

    /// Shorter values of ASCII letters and digits ("Ada", "GB") turn up by
    /// chance in ids and base64; with any other character ("Zoë", "Lucía")
    /// three are enough.
    public static let minimumLength = 6
    public static let minimumLengthOutsideIDAlphabets = 3
    /// A long value (a document's base64) is looked for by its start.
    public static let longestNeedle = 128

    private let values = NIOLockedValueBox<[String: String]>([:])

    public init() {}

    /// Remembers `value` as a secret of kind `label`.
    public func record(_ value: String, as label: String) {
        let value = value.trimmingCharacters(in: .whitespacesAndNewlines)
        let plain = value.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) }
        guard value.count >= (plain ? Self.minimumLength : Self.minimumLengthOutsideIDAlphabets) else { return }
        let needle = String(value.prefix(Self.longestNeedle))
        values.withLockedValue { $0[needle] = $0[needle] ?? label }
    }

    /// Records every sensitive field's string value in a JSON body.
    public func recordSensitiveFields(json bytes: some Sequence<UInt8>) {
        let data = Data(bytes)
        guard let tree = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return }
        walk(tree, field: nil)
    }

    /// Records the sensitive fields of an `application/x-www-form-urlencoded` body.
    public func recordSensitiveFields(form text: String) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            if parts.count == 2, Self.sensitiveFields.contains(parts[0]) { record(parts[1], as: parts[0]) }
        }
    }

    private func walk(_ node: Any, field: String?) {
        switch node {
        case let object as [String: Any]:
            for (key, value) in object { walk(value, field: key) }
        case let array as [Any]:
            for value in array { walk(value, field: field) }
        case let text as String:
            if let field, Self.sensitiveFields.contains(field) { record(text, as: field) }
        default:
            break
        }
    }

    public var count: Int { values.withLockedValue { $0.count } }

    /// Each recorded value found in `lines`: its kind and the first line
    /// holding it, the value itself masked.
    public func leaks(in lines: [String]) -> [String] {
        let recorded = values.withLockedValue { $0 }
        guard !recorded.isEmpty, !lines.isEmpty else { return [] }
        let text = Array(lines.joined(separator: "\n").utf8)
        var found: [String] = []
        for (needle, label) in recorded.sorted(by: { $0.key < $1.key }) {
            let bytes = Array(needle.utf8)
            guard Self.contains(text, bytes) else { continue }
            let line = lines.first { $0.contains(needle) } ?? ""
            found.append("\(label) appeared in the log: \(line.replacingOccurrences(of: needle, with: "«\(label)»").prefix(500))")
        }
        return found
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        // memchr for the first byte, memcmp for the rest (memmem is not in Glibc's module).
        return haystack.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in
                guard let start = h.baseAddress, let pattern = n.baseAddress, let first = n.first else { return false }
                let last = h.count - n.count
                var offset = 0
                while offset <= last {
                    guard let hit = memchr(start + offset, Int32(first), last - offset + 1) else { return false }
                    if memcmp(hit, pattern, n.count) == 0 { return true }
                    offset = UnsafeRawPointer(hit) - start + 1
                }
                return false
            }
        }
    }
}

/// A test server's log held a secret or personal data.
public struct SecretsInLog: Error, CustomStringConvertible {
    public var leaks: [String]
    public var description: String { "secrets or personal data reached the log:\n" + leaks.joined(separator: "\n") }
}
