import Foundation
import ClearanceDomain

/// A KYC user with its profile state. Personal fields are open in memory,
/// sealed in the row.
public struct KYCUserRecord: Sendable, Equatable {
    public var id: String
    public var environment: KeyEnvironment
    public var email: String
    public var firstName: String?
    public var lastName: String?
    public var externalID: String?
    public var approvedVersionID: String?
    /// The names synced from the approved version.
    public var profileFirstName: String?
    public var profileLastName: String?
    public var needsUpdate: Bool
    public var eventSequence: Int64
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, environment: KeyEnvironment, email: String, firstName: String? = nil, lastName: String? = nil,
        externalID: String? = nil, approvedVersionID: String? = nil, profileFirstName: String? = nil,
        profileLastName: String? = nil, needsUpdate: Bool = false, eventSequence: Int64 = 0, createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.environment = environment
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
        self.externalID = externalID
        self.approvedVersionID = approvedVersionID
        self.profileFirstName = profileFirstName
        self.profileLastName = profileLastName
        self.needsUpdate = needsUpdate
        self.eventSequence = eventSequence
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct KYCVersionRecord: Sendable, Equatable {
    public var id: String
    public var userID: String
    public var versionNumber: Int
    public var status: KYCVersionStatus
    public var fields: KYCFields
    public var requiredFields: [String]
    public var contentHash: String?
    public var createdAt: Date
    public var submittedAt: Date?
    public var submittedBy: String?
    public var reviewedAt: Date?
    public var reviewedBy: String?
    public var reviewOutcome: KYCReviewOutcome?
    public var reviewNotes: String?
    public var rejectionReason: String?
    public var approvedIdentity: String?
    /// Read with the row, never written through it.
    public var documentsCount: Int

    public init(
        id: String, userID: String, versionNumber: Int, status: KYCVersionStatus, fields: KYCFields,
        requiredFields: [String] = [], contentHash: String? = nil, createdAt: Date, submittedAt: Date? = nil,
        submittedBy: String? = nil, reviewedAt: Date? = nil, reviewedBy: String? = nil,
        reviewOutcome: KYCReviewOutcome? = nil, reviewNotes: String? = nil, rejectionReason: String? = nil,
        approvedIdentity: String? = nil, documentsCount: Int = 0
    ) {
        self.id = id
        self.userID = userID
        self.versionNumber = versionNumber
        self.status = status
        self.fields = fields
        self.requiredFields = requiredFields
        self.contentHash = contentHash
        self.createdAt = createdAt
        self.submittedAt = submittedAt
        self.submittedBy = submittedBy
        self.reviewedAt = reviewedAt
        self.reviewedBy = reviewedBy
        self.reviewOutcome = reviewOutcome
        self.reviewNotes = reviewNotes
        self.rejectionReason = rejectionReason
        self.approvedIdentity = approvedIdentity
        self.documentsCount = documentsCount
    }
}

public struct KYCActionRequestRecord: Sendable, Equatable {
    public var id: String
    public var userID: String
    public var versionID: String
    public var status: KYCActionRequestStatus
    public var reason: String
    public var requiredFields: [String]
    public var dueAt: Date?
    public var requestedAt: Date
    public var requestedBy: String
    public var resolvedAt: Date?

    public init(
        id: String, userID: String, versionID: String, status: KYCActionRequestStatus, reason: String,
        requiredFields: [String], dueAt: Date?, requestedAt: Date, requestedBy: String, resolvedAt: Date? = nil
    ) {
        self.id = id
        self.userID = userID
        self.versionID = versionID
        self.status = status
        self.reason = reason
        self.requiredFields = requiredFields
        self.dueAt = dueAt
        self.requestedAt = requestedAt
        self.requestedBy = requestedBy
        self.resolvedAt = resolvedAt
    }
}

public struct KYCVersionFilter: Sendable {
    public var statuses: [KYCVersionStatus]
    public var limit: Int
    public var offset: Int
    public var ascending: Bool

    public init(statuses: [KYCVersionStatus] = [], limit: Int = 20, offset: Int = 0, ascending: Bool = false) {
        self.statuses = statuses
        self.limit = limit
        self.offset = offset
        self.ascending = ascending
    }
}

/// A document's facts; its bytes are read separately.
public struct KYCDocumentRecord: Sendable, Equatable {
    public var id: String
    public var versionID: String
    public var userID: String
    public var type: String
    public var fileName: String
    public var mimeType: String
    public var size: Int
    public var sha256: String
    public var createdAt: Date

    public init(
        id: String, versionID: String, userID: String, type: String, fileName: String, mimeType: String, size: Int,
        sha256: String, createdAt: Date
    ) {
        self.id = id
        self.versionID = versionID
        self.userID = userID
        self.type = type
        self.fileName = fileName
        self.mimeType = mimeType
        self.size = size
        self.sha256 = sha256
        self.createdAt = createdAt
    }
}

public struct KYCAttestationRecord: Sendable, Equatable {
    public var id: String
    public var userID: String
    public var versionID: String
    public var kid: String
    public var contentHash: String
    public var issuedAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?
    public var revokedReason: String?

    public init(
        id: String, userID: String, versionID: String, kid: String, contentHash: String, issuedAt: Date, expiresAt: Date,
        revokedAt: Date? = nil, revokedReason: String? = nil
    ) {
        self.id = id
        self.userID = userID
        self.versionID = versionID
        self.kid = kid
        self.contentHash = contentHash
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.revokedReason = revokedReason
    }
}
