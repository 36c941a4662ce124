import Crypto

/// One entry of the append-only audit trail (`access.md`). Personal data is
/// never put in `before`/`after`: ids and statuses only.
public struct AuditRecord: Sendable, Equatable {
    public var sequence: Int64
    public var id: String
    public var at: Int64
    public var actor: String
    public var action: String
    public var subjectType: String
    public var subjectID: String
    public var before: JSONValue?
    public var after: JSONValue?
    public var comment: String?
    public var requestID: String?
    public var prevHash: String
    public var hash: String

    public init(
        sequence: Int64, id: String, at: Int64, actor: String, action: String, subjectType: String,
        subjectID: String, before: JSONValue?, after: JSONValue?, comment: String?, requestID: String?,
        prevHash: String, hash: String = ""
    ) {
        self.sequence = sequence
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.subjectType = subjectType
        self.subjectID = subjectID
        self.before = before
        self.after = after
        self.comment = comment
        self.requestID = requestID
        self.prevHash = prevHash
        self.hash = hash
    }

    /// The canonical JSON of every field but `hash`; what `hash` covers.
    public var hashedContent: JSONValue { .object(Dictionary(uniqueKeysWithValues: hashedMembers)) }

    /// The hashed fields, in their keys' sorted order: the one list both
    /// `hashedContent` and the hashed bytes come from.
    var hashedMembers: [(String, JSONValue)] {
        [
            ("action", .string(action)),
            ("actor", .string(actor)),
            ("after", after ?? .null),
            ("at", .int(at)),
            ("before", before ?? .null),
            ("comment", comment.map(JSONValue.string) ?? .null),
            ("id", .string(id)),
            ("prev_hash", .string(prevHash)),
            ("request_id", requestID.map(JSONValue.string) ?? .null),
            ("sequence", .int(sequence)),
            ("subject_id", .string(subjectID)),
            ("subject_type", .string(subjectType)),
        ]
    }

    public var computedHash: String {
        SHA256.hash(data: canonicalBytes).hexString
    }

    /// `hashedContent.canonicalBytes`, written from the already sorted list
    /// instead of through a dictionary that is then sorted: every audited
    /// change runs this inside the single SQLite writer.
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        JSONValue.writeCanonicalObject(sortedMembers: hashedMembers, into: &out)
        return out
    }

    /// This record with `hash` filled in.
    public func sealed() -> AuditRecord {
        var copy = self
        copy.hash = computedHash
        return copy
    }
}

/// The chain rule: each record's `prev_hash` is its predecessor's `hash`,
/// sequences run without gaps from 1, and the last one matches the head the
/// store keeps beside the table (so deleting the newest rows is caught too).
public enum AuditChain {
    public static let genesisHash = String(repeating: "0", count: 64)

    public struct Head: Sendable, Equatable {
        public var sequence: Int64
        public var hash: String
        public init(sequence: Int64, hash: String) {
            self.sequence = sequence
            self.hash = hash
        }
        public static let empty = Head(sequence: 0, hash: AuditChain.genesisHash)
    }

    public enum Problem: Sendable, Equatable, CustomStringConvertible {
        case altered(sequence: Int64)
        case brokenLink(sequence: Int64)
        case missing(afterSequence: Int64, found: Int64)
        case headMismatch(expected: Head, found: Head)

        public var description: String {
            switch self {
            case .altered(let sequence):
                "entry \(sequence) was altered: its hash does not match its content"
            case .brokenLink(let sequence):
                "entry \(sequence) does not link to the entry before it"
            case .missing(let after, let found):
                "entries missing between \(after) and \(found)"
            case .headMismatch(let expected, let found):
                "the chain ends at entry \(found.sequence) but the recorded head is entry \(expected.sequence): newest entries were removed or altered"
            }
        }
    }

    /// The next record after `head`, sealed.
    public static func append(
        after head: Head, id: String, at: Int64, actor: String, action: String, subjectType: String,
        subjectID: String, before: JSONValue?, after: JSONValue?, comment: String?, requestID: String?
    ) -> AuditRecord {
        AuditRecord(
            sequence: head.sequence + 1, id: id, at: at, actor: actor, action: action, subjectType: subjectType,
            subjectID: subjectID, before: before, after: after, comment: comment, requestID: requestID,
            prevHash: head.hash
        ).sealed()
    }

    /// Walks records in sequence order; carries state so that a verifier can
    /// stream a large table in pages.
    public struct Verifier: Sendable {
        public private(set) var head: Head = .empty
        public private(set) var count: Int = 0

        public init() {}

        public mutating func check(_ record: AuditRecord) -> Problem? {
            if record.sequence != head.sequence + 1 {
                return .missing(afterSequence: head.sequence, found: record.sequence)
            }
            if record.computedHash != record.hash { return .altered(sequence: record.sequence) }
            if record.prevHash != head.hash { return .brokenLink(sequence: record.sequence) }
            head = Head(sequence: record.sequence, hash: record.hash)
            count += 1
            return nil
        }

        public func finish(recordedHead: Head) -> Problem? {
            recordedHead == head ? nil : .headMismatch(expected: recordedHead, found: head)
        }
    }
}
