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
    /// `{type, fileName, mimeType, fileData}`, read from the parsed object
    /// directly: the body can be 33 MiB and is parsed only once.
    static func document(_ members: [String: JSONValue]) throws -> KYCDocumentRules.Upload {
        var texts: [String: String] = [:]
        var issues: [FieldIssue] = []
        for name in ["type", "fileName", "mimeType", "fileData"] {
            switch members[name] {
            case .string(let text)?: texts[name] = text
            case nil: issues.append(FieldIssue(path: name, message: "This field is required."))
            default: issues.append(FieldIssue(path: name, message: "Expected a string."))
            }
        }
        guard issues.isEmpty, let type = texts["type"], let fileName = texts["fileName"], let mimeType = texts["mimeType"],
            let fileData = texts["fileData"]
        else { throw APIError.validation(issues) }
        switch KYCDocumentRules.check(type: type, fileName: fileName, mimeType: mimeType, fileData: fileData) {
        case .success(let upload): return upload
        case .failure(let failure): throw failure.apiError
        }
    }
}
