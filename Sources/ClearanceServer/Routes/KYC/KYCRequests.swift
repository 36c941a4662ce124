import Foundation
import ClearanceDomain

/// Request bodies of the KYC dialect and their checks. Each check reports
/// every issue with its path; nothing is written when there is one.
enum KYCRequests {
    struct CreateUser: Decodable {
        var email: String
        var firstName: String?
        var lastName: String?
        var externalId: String?
    }

    static func validate(_ body: CreateUser) throws -> KYCService.NewUser {
        var issues: [FieldIssue] = []
        let email = body.email.trimmingCharacters(in: .whitespaces)
        if !FieldRules.isEmail(email) { issues.append(FieldIssue(path: "email", message: "Must be an email address.")) }
        var names: [KYCFields.Name: String] = [:]
        for (name, value) in [(KYCFields.Name.firstName, body.firstName), (.lastName, body.lastName)] {
            guard let value else { continue }
            switch KYCFieldRules.check(name, value, now: Date()) {
            case .success(let text): names[name] = text
            case .failure(let issue): issues.append(issue)
            }
        }
        if let externalID = body.externalId,
            externalID.trimmingCharacters(in: .whitespaces).isEmpty || externalID.count > 255 || !FieldRules.isPlainText(externalID)
        {
            issues.append(FieldIssue(path: "externalId", message: "Must be 1 to 255 characters of plain text."))
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return .init(email: email, firstName: names[.firstName], lastName: names[.lastName], externalID: body.externalId)
    }

    /// A partial edit of the six fields: a string sets, `null` clears,
    /// anything else (or an unknown name) is an issue under `prefix`.
    static func fieldEdit(_ value: JSONValue?, prefix: String = "") throws -> [KYCFields.Name: String?] {
        guard let value else { return [:] }
        guard case .object(let members) = value else {
            throw APIError.validation(path: prefix.isEmpty ? "body" : String(prefix.dropLast()), "Expected an object.")
        }
        var edit: [KYCFields.Name: String?] = [:]
        var issues: [FieldIssue] = []
        for (key, member) in members.sorted(by: { $0.key < $1.key }) {
            guard let name = KYCFields.Name(rawValue: key) else {
                issues.append(FieldIssue(path: prefix + key, message: "Unknown field; one of \(KYCFields.Name.allCases.map(\.rawValue).joined(separator: ", ")).")
                )
                continue
            }
            switch member {
            case .string(let text): edit[name] = .some(text)
            case .null: edit[name] = .some(nil)
            default: issues.append(FieldIssue(path: prefix + key, message: "Expected a string or null."))
            }
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return edit
    }

    struct CreateVersion: Decodable {
        var overwriteDraft: Bool?
        var initialData: JSONValue?
    }

    struct Approve: Decodable {
        var reviewNotes: String?
    }

    struct Reject: Decodable {
        var rejectionReason: String?
        var reviewNotes: String?
    }

    struct RequestUpdate: Decodable {
        var reason: String?
        var requiredFields: [String]?
        var dueAt: String?
        var reviewNotes: String?
    }

    static func notes(_ raw: String?, into issues: inout [FieldIssue]) -> String? {
        switch KYCReviewRules.notes(raw) {
        case .success(let notes): return notes
        case .failure(let issue):
            issues.append(issue)
            return nil
        }
    }

    static func validate(_ body: Approve) throws -> KYCService.Review {
        var issues: [FieldIssue] = []
        let notes = notes(body.reviewNotes, into: &issues)
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return .init(reviewNotes: notes)
    }

    static func validate(_ body: Reject) throws -> KYCService.Review {
        var issues: [FieldIssue] = []
        var reason: String?
        switch KYCReviewRules.reason(body.rejectionReason, path: "rejectionReason") {
        case .success(let text): reason = text
        case .failure(let issue): issues.append(issue)
        }
        let notes = notes(body.reviewNotes, into: &issues)
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return .init(reviewNotes: notes, rejectionReason: reason)
    }

    static func validate(_ body: RequestUpdate, now: Date) throws -> KYCService.Review {
        var issues: [FieldIssue] = []
        var review = KYCService.Review()
        switch KYCReviewRules.reason(body.reason, path: "reason") {
        case .success(let text): review.reason = text
        case .failure(let issue): issues.append(issue)
        }
        switch KYCReviewRules.requiredFields(body.requiredFields) {
        case .success(let fields): review.requiredFields = fields
        case .failure(let failure): issues += failure.issues
        }
        switch KYCReviewRules.dueAt(body.dueAt, now: now) {
        case .success(let date): review.dueAt = date
        case .failure(let issue): issues.append(issue)
        }
        review.reviewNotes = notes(body.reviewNotes, into: &issues)
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return review
    }
}

extension KYCRequests {
    struct Document: Decodable {
        var type: String
        var fileName: String
        var mimeType: String
        var fileData: String
    }

    static func validate(_ body: Document) throws -> KYCDocumentRules.Upload {
        switch KYCDocumentRules.check(type: body.type, fileName: body.fileName, mimeType: body.mimeType, fileData: body.fileData) {
        case .success(let upload): return upload
        case .failure(let failure): throw failure.apiError
        }
    }
}
