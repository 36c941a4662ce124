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
}

extension ReviewQueueRepository {
    /// KYC versions `under_review` (without a pending update request) of one
    /// environment, oldest submission first.
    public func kycQueue(environment: KeyEnvironment, limit: Int, offset: Int) async throws -> (total: Int, items: [KYCQueueItem]) {
        try await database.read { sql in
            let from: SQLQueryString = """
                FROM kyc_versions v JOIN kyc_users u ON u.id = v.user_id
                WHERE v.status = 'under_review' AND v.review_outcome IS NULL AND u.environment = \(bind: environment.rawValue)
                """
            let total = try await sql.raw("SELECT COUNT(*) AS n \(from)").first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await sql.raw("""
                SELECT v.id, v.user_id, v.version_number, v.submitted_at,
                (SELECT COUNT(*) FROM kyc_documents d WHERE d.version_id = v.id) AS documents
                \(from) ORDER BY v.submitted_at ASC, v.id ASC LIMIT \(bind: limit) OFFSET \(bind: offset)
                """).all()
            return (total, try rows.map { row in
                let number = try row.decode(column: "version_number", as: Int.self)
                return KYCQueueItem(
                    versionID: try row.decode(column: "id", as: String.self), userID: try row.decode(column: "user_id", as: String.self),
                    versionNumber: number,
                    submittedAt: Timestamp.date(milliseconds: try row.decode(column: "submitted_at", as: Int64?.self) ?? 0),
                    documentsCount: try row.decode(column: "documents", as: Int.self), isResubmission: number > 1)
            })
        }
    }
}
