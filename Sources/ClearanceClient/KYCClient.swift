import Foundation

/// The DALP KYC dialect (`/api/v2/`): answers are `{"data": …}`.
public struct DALPEnvelope<T: Codable & Sendable>: Codable, Sendable {
    public var data: T
    public init(data: T) { self.data = data }
}

public struct DALPList<T: Codable & Sendable>: Codable, Sendable {
    public var items: [T]
    public var total: Int
    public var limit: Int
    public var offset: Int
}

/// What approve and reject answer: the review metadata.
public struct KYCReview: Codable, Sendable, Equatable {
    public var id: String
    public var status: String
    public var reviewOutcome: String?
    public var reviewedAt: String?
    public var reviewedBy: String?
    public var reviewNotes: String?
    public var rejectionReason: String?
}

public struct KYCActionRequest: Codable, Sendable, Equatable {
    public var id: String
    public var userId: String
    public var versionId: String
    public var status: String
    public var reason: String
    public var requiredFields: [String]
    public var dueAt: String?
    public var requestedAt: String
    public var requestedBy: String
    public var resolvedAt: String?
}

public struct KYCUpdateRequestAnswer: Codable, Sendable, Equatable {
    public struct Version: Codable, Sendable, Equatable {
        public var id: String
        public var status: String
    }
    public var version: Version
    public var actionRequest: KYCActionRequest
}

public struct KYCVersion: Codable, Sendable, Equatable {
    public var id: String
    public var userId: String
    public var versionNumber: Int
    public var status: String
    public var createdAt: String
    public var submittedAt: String?
    public var submittedBy: String?
    public var reviewedAt: String?
    public var reviewedBy: String?
    public var reviewOutcome: String?
    public var reviewNotes: String?
    public var rejectionReason: String?
    public var documentsCount: Int
    public var requiredFields: [String]
    public var contentHash: String?
    public var canEdit: Bool
    public var canSubmit: Bool
    public var canReview: Bool
}

public struct KYCProfile: Codable, Sendable, Equatable {
    public struct Approved: Codable, Sendable, Equatable {
        public var id: String
        public var versionNumber: Int
        public var contentHash: String?
        public var reviewedAt: String?
        public var reviewedBy: String?
    }
    public struct Latest: Codable, Sendable, Equatable {
        public var id: String
        public var versionNumber: Int
        public var status: String
        public var reviewOutcome: String?
    }
    public var userId: String
    public var status: String
    public var needsUpdate: Bool
    public var firstName: String?
    public var lastName: String?
    public var approvedVersion: Approved?
    public var latestVersion: Latest?
    public var openActionRequests: [KYCActionRequest]
}

public struct KYCUser: Codable, Sendable, Equatable {
    public var id: String
    public var email: String
    public var firstName: String?
    public var lastName: String?
    public var externalId: String?
}

extension ClearanceClient {
    struct Body: Encodable {
        var values: [String: AnyJSON]
        func encode(to encoder: any Encoder) throws { try values.encode(to: encoder) }
    }

    func kyc<T: Codable & Sendable>(_ method: String, _ path: String, query: [String: String] = [:], _ body: [String: AnyJSON?]? = nil)
        async throws -> T
    {
        let payload = body.map { Body(values: $0.compactMapValues { $0 }) }
        let envelope: DALPEnvelope<T> = try await send(method, path, query: query, body: payload)
        return envelope.data
    }

    public func createKYCUser(email: String, externalId: String? = nil) async throws -> KYCUser {
        try await kyc("POST", "/api/v2/users", ["email": .string(email), "externalId": externalId.map(AnyJSON.string)])
    }

    public func createKYCVersion(userID: String, initialData: [String: String] = [:], overwriteDraft: Bool = false) async throws -> KYCVersion {
        try await kyc(
            "POST", "/api/v2/kyc-profiles/\(userID)/versions",
            ["initialData": .object(initialData.mapValues(AnyJSON.string)), "overwriteDraft": .bool(overwriteDraft)])
    }

    public func submitKYCVersion(id: String) async throws -> KYCVersion {
        try await kyc("POST", "/api/v2/kyc-profile-versions/\(id)/submissions", [:])
    }

    public func kycProfile(userID: String) async throws -> KYCProfile {
        try await kyc("GET", "/api/v2/kyc-profiles/\(userID)")
    }

    public func kycVersions(
        userID: String, statuses: [String] = [], limit: Int = 20, offset: Int = 0, orderDirection: String = "desc"
    ) async throws -> DALPList<KYCVersion> {
        var query = ["limit": String(limit), "offset": String(offset), "orderDirection": orderDirection]
        if !statuses.isEmpty { query["statuses"] = statuses.joined(separator: ",") }
        return try await kyc("GET", "/api/v2/kyc-profiles/\(userID)/versions", query: query)
    }

    public func approveKYCVersion(id: String, reviewNotes: String? = nil) async throws -> KYCReview {
        try await kyc("POST", "/api/v2/kyc-profile-versions/\(id)/approvals", ["reviewNotes": reviewNotes.map(AnyJSON.string)])
    }

    public func rejectKYCVersion(id: String, rejectionReason: String, reviewNotes: String? = nil) async throws -> KYCReview {
        try await kyc(
            "POST", "/api/v2/kyc-profile-versions/\(id)/rejections",
            ["rejectionReason": .string(rejectionReason), "reviewNotes": reviewNotes.map(AnyJSON.string)])
    }

    public func requestKYCVersionUpdate(
        id: String, reason: String, requiredFields: [String] = [], dueAt: String? = nil, reviewNotes: String? = nil
    ) async throws -> KYCUpdateRequestAnswer {
        try await kyc(
            "POST", "/api/v2/kyc-profile-versions/\(id)/update-requests",
            [
                "reason": .string(reason), "requiredFields": requiredFields.isEmpty ? nil : .array(requiredFields.map(AnyJSON.string)),
                "dueAt": dueAt.map(AnyJSON.string), "reviewNotes": reviewNotes.map(AnyJSON.string),
            ])
    }
}
