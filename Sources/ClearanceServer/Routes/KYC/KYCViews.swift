import Foundation
import ClearanceDomain
import ClearanceStore

/// The DALP shapes: camelCase, ISO 8601 UTC with milliseconds, `null` for
/// unset; `reviewedBy`/`submittedBy` are the principal as the audit trail
/// names it (`key:<id>`, `console:<id>`).
enum KYCViews {
    static func time(_ date: Date?) -> JSONValue { date.map { .string(Timestamp.iso8601($0)) } ?? .null }
    static func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }

    static func user(_ user: KYCUserRecord) -> JSONValue {
        [
            "id": .string(user.id), "email": .string(user.email), "firstName": text(user.firstName),
            "lastName": text(user.lastName), "externalId": text(user.externalID), "createdAt": time(user.createdAt),
            "updatedAt": time(user.updatedAt),
        ]
    }

    static func version(_ version: KYCVersionRecord, principal: Principal, settings: KYCSettings, now: Date) -> JSONValue {
        let canReview =
            version.status == .underReview
            && KYCReviewMachine.refusal(
                .approve, status: version.status, fourEyes: settings.fourEyes, submittedBy: version.submittedBy,
                actor: principal.actor) == nil
        return [
            "id": .string(version.id), "userId": .string(version.userID),
            "versionNumber": .int(Int64(version.versionNumber)), "status": .string(version.status.rawValue),
            "createdAt": time(version.createdAt), "submittedAt": time(version.submittedAt),
            "submittedBy": text(version.submittedBy), "reviewedAt": time(version.reviewedAt),
            "reviewedBy": text(version.reviewedBy), "reviewOutcome": text(version.reviewOutcome?.rawValue),
            "reviewNotes": text(version.reviewNotes), "rejectionReason": text(version.rejectionReason),
            "documentsCount": .int(Int64(version.documentsCount)), "requiredFields": strings(version.requiredFields),
            "contentHash": text(version.contentHash), "data": version.fields.json,
            "canEdit": .bool(version.status == .draft),
            "canSubmit": .bool(version.status == .draft && KYCFieldRules.submissionIssues(version.fields, now: now).isEmpty),
            "canReview": .bool(canReview),
        ]
    }

    /// What the approve and reject calls answer: the review metadata.
    static func review(_ version: KYCVersionRecord) -> JSONValue {
        [
            "id": .string(version.id), "status": .string(version.status.rawValue),
            "reviewOutcome": text(version.reviewOutcome?.rawValue), "reviewedAt": time(version.reviewedAt),
            "reviewedBy": text(version.reviewedBy), "reviewNotes": text(version.reviewNotes),
            "rejectionReason": text(version.rejectionReason),
        ]
    }

    static func actionRequest(_ request: KYCActionRequestRecord) -> JSONValue {
        [
            "id": .string(request.id), "userId": .string(request.userID), "versionId": .string(request.versionID),
            "status": .string(request.status.rawValue), "reason": .string(request.reason),
            "requiredFields": strings(request.requiredFields), "dueAt": time(request.dueAt),
            "requestedAt": time(request.requestedAt), "requestedBy": .string(request.requestedBy),
            "resolvedAt": time(request.resolvedAt),
        ]
    }

    static func profile(
        _ user: KYCUserRecord, approved: KYCVersionRecord?, latest: KYCVersionRecord?, open: [KYCActionRequestRecord]
    ) -> JSONValue {
        [
            "userId": .string(user.id),
            "status": .string(user.approvedVersionID == nil ? "incomplete" : "approved"),
            "needsUpdate": .bool(user.needsUpdate),
            "firstName": text(user.profileFirstName), "lastName": text(user.profileLastName),
            "approvedVersion": approved.map {
                [
                    "id": .string($0.id), "versionNumber": .int(Int64($0.versionNumber)), "contentHash": text($0.contentHash),
                    "reviewedAt": time($0.reviewedAt), "reviewedBy": text($0.reviewedBy),
                ]
            } ?? .null,
            "latestVersion": latest.map {
                [
                    "id": .string($0.id), "versionNumber": .int(Int64($0.versionNumber)), "status": .string($0.status.rawValue),
                    "reviewOutcome": text($0.reviewOutcome?.rawValue),
                ]
            } ?? .null,
            "openActionRequests": .array(open.map(actionRequest)),
        ]
    }

    static func list(_ items: [JSONValue], total: Int, limit: Int, offset: Int) -> JSONValue {
        ["data": ["items": .array(items), "total": .int(Int64(total)), "limit": .int(Int64(limit)), "offset": .int(Int64(offset))]]
    }
}

extension KYCViews {
    static func document(_ document: KYCDocumentRecord) -> JSONValue {
        [
            "id": .string(document.id), "versionId": .string(document.versionID), "type": .string(document.type),
            "fileName": .string(document.fileName), "mimeType": .string(document.mimeType), "size": .int(Int64(document.size)),
            "sha256": .string(document.sha256), "createdAt": time(document.createdAt),
        ]
    }
}
