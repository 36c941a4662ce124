import Crypto

/// What an attestation signs: SHA-256 over the canonical JSON of the
/// version's fields and its documents' digests (sorted, so upload order does
/// not matter), hex with `0x`. Ids are left out: equal content, equal hash.
public enum KYCContentHash {
    public struct Document: Sendable, Equatable {
        public var type: String
        public var sha256: String
        public init(type: String, sha256: String) {
            self.type = type
            self.sha256 = sha256
        }
    }

    public static func compute(fields: KYCFields, documents: [Document]) -> String {
        let docs = documents.sorted { ($0.sha256, $0.type) < ($1.sha256, $1.type) }
            .map { JSONValue.object(["type": .string($0.type), "sha256": .string($0.sha256)]) }
        let content: JSONValue = ["data": fields.json, "documents": .array(docs)]
        return "0x" + SHA256.hash(data: content.canonicalBytes).hexString
    }
}
