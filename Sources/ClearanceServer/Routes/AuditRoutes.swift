import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// `GET /v3/audit/?subject_id=`: the trail, oldest first, for `read:audit`.
struct AuditRoutes {
    let store: Store
    let publicURL: String

    func register(on group: RouterGroup<ClearanceRequestContext>) {
        group.get("/v3/audit/", use: list)
    }

    struct EntryView: Encodable, Sendable {
        var id: String
        var sequence: Int64
        var at: String
        var actor: String
        var action: String
        var subject_type: String
        var subject_id: String
        var before: JSONValue?
        var after: JSONValue?
        var comment: String?
        var request_id: String?
        var prev_hash: String
        var hash: String

        init(_ record: AuditRecord) {
            id = record.id
            sequence = record.sequence
            at = Timestamp.iso8601(milliseconds: record.at)
            actor = record.actor
            action = record.action
            subject_type = record.subjectType
            subject_id = record.subjectID
            before = record.before
            after = record.after
            comment = record.comment
            request_id = record.requestID
            prev_hash = record.prevHash
            hash = record.hash
        }

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case id, sequence, at, actor, action, subject_type, subject_id, before, after, comment, request_id,
                    prev_hash, hash
            }
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(id, forKey: .id)
            try c.encode(sequence, forKey: .sequence)
            try c.encode(at, forKey: .at)
            try c.encode(actor, forKey: .actor)
            try c.encode(action, forKey: .action)
            try c.encode(subject_type, forKey: .subject_type)
            try c.encode(subject_id, forKey: .subject_id)
            try c.encode(before ?? .null, forKey: .before)
            try c.encode(after ?? .null, forKey: .after)
            try c.encode(comment, forKey: .comment)
            try c.encode(request_id, forKey: .request_id)
            try c.encode(prev_hash, forKey: .prev_hash)
            try c.encode(hash, forKey: .hash)
        }
    }

    @Sendable func list(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        try context.require(.readAudit)
        let pagination = try Pagination(request, defaultLimit: 50, maxLimit: 500)
        let subjectID = Query(request).get("subject_id")
        if let subjectID, subjectID.isEmpty || subjectID.count > 200 {
            throw APIError.validation(path: "subject_id", "Must be 1 to 200 characters.")
        }
        let (total, items) = try await store.audit.entries(
            subjectID: subjectID, limit: pagination.limit, offset: pagination.offset)
        return try JSONResponse.make(
            Page(
                count: total, results: items.map(EntryView.init), limit: pagination.limit,
                offset: pagination.offset, request: request, publicURL: publicURL))
    }
}
