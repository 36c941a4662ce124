import Foundation
import Yams

/// The one API document, kept by hand in `openapi.yaml` beside this file and
/// served as JSON at `/openapi.json`. A test holds it and the router to the
/// same set of operations.
public struct OpenAPIDocument: Sendable {
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    public let json: [UInt8]
    /// `"GET /v3/api-keys/{key_id}/"`-style operation names.
    public let operations: Set<String>

    public static func load() throws -> OpenAPIDocument {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw LoadError(description: "openapi.yaml is missing from the server's resources")
        }
        return try OpenAPIDocument(yaml: String(contentsOf: url, encoding: .utf8))
    }

    public init(yaml: String) throws {
        guard let tree = try Yams.load(yaml: yaml) as? [String: Any] else {
            throw LoadError(description: "openapi.yaml is not a mapping")
        }
        json = Array(try JSONSerialization.data(withJSONObject: tree, options: [.sortedKeys, .withoutEscapingSlashes]))
        var operations: Set<String> = []
        let methods = ["get", "put", "post", "delete", "patch", "head", "options"]
        for (path, item) in tree["paths"] as? [String: Any] ?? [:] {
            for (method, _) in item as? [String: Any] ?? [:] where methods.contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        self.operations = operations
    }

    /// Both spellings of a path (`/a/:id/` and `/a/{id}`) reduced to one.
    public static func normalize(_ path: String) -> String {
        let parts = path.split(separator: "/").map { part -> String in
            if part.hasPrefix(":") || (part.hasPrefix("{") && part.hasSuffix("}")) { return "{}" }
            return String(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}
