import Foundation
import SQLKit
import ClearanceDomain

/// One KYC version waiting for a reviewer.
public struct KYCQueueItem: Sendable, Equatable {
    public var versionID: String
    public var userID: String
    public var versionNumber: Int
    public var submittedAt: Date
    public var documentsCount: Int
    /// True when this version answers an earlier update request.
    public var isResubmission: Bool
    public var assigneeID: String? = nil
    public var assigneeEmail: String? = nil
}

/// Which KYC versions a queue shows by assignee.
public enum KYCAssigneeFilter: Sendable {
    case anyone, nobody, user(String)
}

extension ReviewQueueRepository {
    /// KYC versions `under_review` (without a pending update request) of one
    /// environment, oldest submission first.
    public func kycQueue(
        environment: KeyEnvironment, assignee: KYCAssigneeFilter = .anyone, limit: Int, offset: Int
    ) async throws -> (total: Int, items: [KYCQueueItem]) {
        try await database.read { sql in
            var from: SQLQueryString = """
                FROM kyc_versions v JOIN kyc_users u ON u.id = v.user_id
                LEFT JOIN kyc_review_assignments a ON a.version_id = v.id
                LEFT JOIN console_users cu ON cu.id = a.user_id
                WHERE v.status = 'under_review' AND v.review_outcome IS NULL AND u.environment = \(bind: environment.rawValue)
                """
            switch assignee {
            case .anyone: break
            case .nobody: from += " AND a.user_id IS NULL"
            case .user(let id): from += " AND a.user_id = \(bind: id)"
            }
            let total = try await sql.raw("SELECT COUNT(*) AS n \(from)").first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await sql.raw("""
                SELECT v.id, v.user_id, v.version_number, v.submitted_at, a.user_id AS assignee_id, cu.email AS assignee_email,
                (SELECT COUNT(*) FROM kyc_documents d WHERE d.version_id = v.id) AS documents
                \(from) ORDER BY v.submitted_at ASC, v.id ASC LIMIT \(bind: limit) OFFSET \(bind: offset)
                """).all()
            return (total, try rows.map { row in
                let number = try row.decode(column: "version_number", as: Int.self)
                return KYCQueueItem(
                    versionID: try row.decode(column: "id", as: String.self), userID: try row.decode(column: "user_id", as: String.self),
                    versionNumber: number,
                    submittedAt: Timestamp.date(milliseconds: try row.decode(column: "submitted_at", as: Int64?.self) ?? 0),
                    documentsCount: try row.decode(column: "documents", as: Int.self), isResubmission: number > 1,
                    assigneeID: try row.decode(column: "assignee_id", as: String?.self),
                    assigneeEmail: try row.decode(column: "assignee_email", as: String?.self))
            })
        }
    }

    public func assignKYC(versionID: String, userID: String?, at now: Date, on sql: any SQLDatabase) async throws {
        try await sql.delete(from: "kyc_review_assignments").where("version_id", .equal, versionID).run()
        guard let userID else { return }
        try await sql.insert(into: "kyc_review_assignments").columns("version_id", "user_id", "assigned_at")
            .values(SQLBind(versionID), SQLBind(userID), SQLBind(Timestamp.milliseconds(now))).run()
    }

    public func kycAssignee(versionID: String, on sql: any SQLDatabase) async throws -> String? {
        try await sql.raw("SELECT user_id FROM kyc_review_assignments WHERE version_id = \(bind: versionID)")
            .first()?.decode(column: "user_id", as: String.self)
    }
}
