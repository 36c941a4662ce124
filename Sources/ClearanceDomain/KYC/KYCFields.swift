import Foundation

// A single issue is what field checks fail with.
extension FieldIssue: Error {}

/// The six personal fields of a KYC version. A draft may hold any subset;
/// a submission needs all of them valid.
public struct KYCFields: Sendable, Equatable {
    public enum Name: String, Sendable, CaseIterable {
        case firstName, lastName, dob, country, residencyStatus, nationalId
    }

    public var values: [Name: String]

    public init(_ values: [Name: String] = [:]) { self.values = values }

    public subscript(_ name: Name) -> String? {
        get { values[name] }
        set { values[name] = newValue }
    }

    /// `{"firstName": …, …}` with `null` for unset fields.
    public var json: JSONValue {
        .object(Dictionary(uniqueKeysWithValues: Name.allCases.map { ($0.rawValue, values[$0].map(JSONValue.string) ?? .null) }))
    }

    public init?(json: JSONValue) {
        guard case .object(let members) = json else { return nil }
        var values: [Name: String] = [:]
        for name in Name.allCases { if let text = members[name.rawValue]?.stringValue { values[name] = text } }
        self.values = values
    }

    /// Issues for the fields a submission lacks.
    public var missing: [FieldIssue] {
        Name.allCases.filter { values[$0] == nil }.map { FieldIssue(path: $0.rawValue, message: "This field is required to submit.") }
    }
}

public enum ResidencyStatus: String, Sendable, CaseIterable {
    case resident
    case nonResident = "non_resident"
    case dualResident = "dual_resident"
    case unknown
}

/// The rule for each field: the stored form, or the reason it is refused.
public enum KYCFieldRules {
    public static let nameLimit = 64
    public static let nationalIDLimit = 50
    public static let minimumAge = 18

    /// The stored (trimmed, checked) value of one field, or a message.
    public static func check(_ name: KYCFields.Name, _ raw: String, now: Date) -> Result<String, FieldIssue> {
        func issue(_ message: String) -> Result<String, FieldIssue> { .failure(FieldIssue(path: name.rawValue, message: message)) }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        switch name {
        case .firstName, .lastName:
            guard !trimmed.isEmpty else { return issue("Must not be blank.") }
            guard trimmed.count <= nameLimit else { return issue("Must be at most \(nameLimit) characters after trimming.") }
            guard FieldRules.isPlainText(trimmed) else { return issue("Must not contain control characters.") }
            return .success(trimmed)
        case .dob:
            guard let date = FieldRules.date(raw) else { return issue("Must be a real date written YYYY-MM-DD.") }
            guard let latest = latestBirthDate(now: now), date <= latest else {
                return issue("The person must be at least \(minimumAge) years old.")
            }
            guard raw >= "1900-01-01" else { return issue("Must be on or after 1900-01-01.") }
            return .success(raw)
        case .country:
            guard ISO3166.alpha2.contains(raw) else {
                return issue("Must be an ISO 3166-1 alpha-2 code in upper case, such as DE or US.")
            }
            return .success(raw)
        case .residencyStatus:
            guard ResidencyStatus(rawValue: raw) != nil else {
                return issue("Must be one of \(ResidencyStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            return .success(raw)
        case .nationalId:
            guard !trimmed.isEmpty else { return issue("Must not be blank.") }
            guard trimmed.count <= nationalIDLimit else { return issue("Must be at most \(nationalIDLimit) characters.") }
            guard FieldRules.isPlainText(trimmed) else { return issue("Must not contain control characters.") }
            return .success(trimmed)
        }
    }

    /// The last birth date that is at least 18 years before `now` (UTC days).
    static func latestBirthDate(now: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(byAdding: .year, value: -minimumAge, to: calendar.startOfDay(for: now))
    }

    /// Applies a partial edit: a string sets a field, `null` clears it.
    /// Every issue is reported; nothing is applied when there is one.
    public static func apply(_ edit: [KYCFields.Name: String?], to fields: KYCFields, now: Date) -> Result<KYCFields, ValidationFailure> {
        var out = fields
        var issues: [FieldIssue] = []
        for name in KYCFields.Name.allCases {
            guard let change = edit[name] else { continue }
            guard let raw = change else {
                out[name] = nil
                continue
            }
            switch check(name, raw, now: now) {
            case .success(let value): out[name] = value
            case .failure(let issue): issues.append(issue)
            }
        }
        return issues.isEmpty ? .success(out) : .failure(ValidationFailure(issues))
    }

    /// Every issue that stops `fields` from being submitted: missing fields
    /// and stored values that no longer pass (a birthday rule moves with time).
    public static func submissionIssues(_ fields: KYCFields, now: Date) -> [FieldIssue] {
        var issues = fields.missing
        for (name, value) in fields.values {
            if case .failure(let issue) = check(name, value, now: now) { issues.append(issue) }
        }
        return issues.sorted { $0.path < $1.path }
    }
}

/// Rules for the reviewer's texts and the update request's fields.
public enum KYCReviewRules {
    public static let reasonMinimum = 10
    public static let textLimit = 5000

    /// A reason (`rejectionReason`, `reason`): at least 10 characters after trimming.
    public static func reason(_ raw: String?, path: String) -> Result<String, FieldIssue> {
        guard let raw else { return .failure(FieldIssue(path: path, message: "This field is required.")) }
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count >= reasonMinimum else {
            return .failure(FieldIssue(path: path, message: "Must be at least \(reasonMinimum) characters after trimming."))
        }
        guard trimmed.count <= textLimit else {
            return .failure(FieldIssue(path: path, message: "Must be at most \(textLimit) characters."))
        }
        guard FieldRules.isPlainText(trimmed, allowNewlines: true) else {
            return .failure(FieldIssue(path: path, message: "Must not contain control characters."))
        }
        return .success(trimmed)
    }

    /// Optional notes: trimmed, empty is none.
    public static func notes(_ raw: String?, path: String = "reviewNotes") -> Result<String?, FieldIssue> {
        guard let trimmed = raw?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return .success(nil) }
        guard trimmed.count <= textLimit else {
            return .failure(FieldIssue(path: path, message: "Must be at most \(textLimit) characters."))
        }
        guard FieldRules.isPlainText(trimmed, allowNewlines: true) else {
            return .failure(FieldIssue(path: path, message: "Must not contain control characters."))
        }
        return .success(trimmed)
    }

    /// `requiredFields`: the six field names and the document types, no repeats.
    public static let requiredFieldVocabulary: [String] =
        KYCFields.Name.allCases.map(\.rawValue) + KYCDocumentType.allCases.map(\.rawValue)

    static let vocabularyText = requiredFieldVocabulary.joined(separator: ", ")

    public static func requiredFields(_ raw: [String]?) -> Result<[String], ValidationFailure> {
        var issues: [FieldIssue] = []
        var seen: Set<String> = []
        for (index, name) in (raw ?? []).enumerated() {
            if !requiredFieldVocabulary.contains(name) {
                issues.append(FieldIssue(path: "requiredFields[\(index)]", message: "Unknown field '\(name)'; one of \(vocabularyText)."))
            } else if !seen.insert(name).inserted {
                issues.append(FieldIssue(path: "requiredFields[\(index)]", message: "'\(name)' is listed twice."))
            }
        }
        return issues.isEmpty ? .success(raw ?? []) : .failure(ValidationFailure(issues))
    }

    /// `dueAt`: an ISO 8601 instant after `now`.
    public static func dueAt(_ raw: String?, now: Date) -> Result<Date?, FieldIssue> {
        guard let raw else { return .success(nil) }
        guard raw.contains("T"), let parsed = Timestamp.parse(raw) else {
            return .failure(FieldIssue(path: "dueAt", message: "Must be an ISO 8601 date-time such as 2026-06-01T00:00:00.000Z."))
        }
        let date = Timestamp.date(milliseconds: Timestamp.milliseconds(parsed))
        guard date > now else { return .failure(FieldIssue(path: "dueAt", message: "Must be in the future.")) }
        return .success(date)
    }
}

public enum KYCDocumentType: String, Sendable, CaseIterable {
    case passport
    case driversLicense = "drivers_license"
    case nationalId = "national_id"
    case proofOfAddress = "proof_of_address"
    case other
}
