import Foundation
import Mustache
import ClearanceDomain

/// What one email says, before it is put into words: the kind and the
/// facts it carries. No personal data beyond the first name.
public struct EmailContent: Sendable, Equatable {
    public var kind: EmailKind
    public var firstName: String?
    /// The session's verification link (resubmission).
    public var link: String?
    /// Step keys (`EmailSteps`) the person must redo, in workflow order.
    public var steps: [String]
    /// The reviewer's reason, for the person (KYC kinds).
    public var reason: String?
    /// Fields the person must change (KYC changes), as the caller names them.
    public var fields: [String]
    /// `YYYY-MM-DD` (KYC changes).
    public var dueDate: String?

    public init(
        kind: EmailKind, firstName: String? = nil, link: String? = nil, steps: [String] = [], reason: String? = nil,
        fields: [String] = [], dueDate: String? = nil
    ) {
        self.kind = kind
        self.firstName = firstName
        self.link = link
        self.steps = steps
        self.reason = reason
        self.fields = fields
        self.dueDate = dueDate
    }
}

public struct RenderedEmail: Sendable, Equatable {
    public var subject: String
    public var text: String
    public var html: String
}

/// The steps a resubmission email can name, one phrase per language each.
/// Checks that need no person (AML, database, IP) re-run by themselves and
/// the KYB registry and key people are never resubmitted, so none is named.
public enum EmailSteps {
    public static let keys = ["document", "nfc", "selfie", "address", "questionnaire", "phone", "email", "documents"]

    public static func key(for feature: Feature) -> String? {
        switch feature {
        case .ocr: "document"
        case .nfc: "nfc"
        case .liveness, .faceMatch, .ageEstimation: "selfie"
        case .proofOfAddress: "address"
        case .questionnaire: "questionnaire"
        case .phoneVerification: "phone"
        case .emailVerification: "email"
        case .documentAI, .kybDocuments: "documents"
        case .aml, .databaseValidation, .ipAnalysis, .kybRegistry, .kybKeyPeople: nil
        }
    }

    /// Step keys for the selected features, each once, in order.
    public static func keys(for features: [Feature]) -> [String] {
        var seen: Set<String> = []
        return features.compactMap(key(for:)).filter { seen.insert($0).inserted }
    }
}

/// The email templates: one JSON file of phrases per language (each phrase a
/// Mustache template over `first_name`, `organisation`, `due_date`) and two
/// shared layouts (plain text, HTML) that arrange them. Phrases render as
/// plain text; the HTML layout escapes everything it inserts, so no value
/// (a name, a reason, a field) can add markup.
public struct EmailRenderer: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Every phrase key each language file must have.
    public static let phraseKeys: [String] = {
        var keys = ["greeting", "signoff", "footer", "reason", "link_hint"]
        let perKind: [EmailKind: [String]] = [
            .decisionApproved: ["subject", "body"], .decisionDeclined: ["subject", "body"],
            .resubmissionRequested: ["subject", "body", "steps", "button"],
            .kycChangesRequested: ["subject", "body", "fields", "due"], .kycRejected: ["subject", "body"],
        ]
        for kind in EmailKind.allCases { keys += perKind[kind, default: []].map { "\(kind.rawValue).\($0)" } }
        return keys + EmailSteps.keys.map { "step.\($0)" }
    }()

    /// Placeholders a phrase must use (a translation that drops one loses
    /// information the person needs).
    public static let requiredPlaceholders: [String: [String]] = [
        "greeting": ["first_name"],
        "footer": ["organisation"],
        "decision_approved.body": ["organisation"], "decision_declined.body": ["organisation"],
        "resubmission_requested.body": ["organisation"], "kyc_changes_requested.body": ["organisation"],
        "kyc_rejected.body": ["organisation"], "kyc_changes_requested.due": ["due_date"],
    ]

    let phrases: [String: [String: MustacheTemplate]]
    let textLayout: MustacheTemplate
    let htmlLayout: MustacheTemplate

    /// The templates shipped with the server, loaded once.
    public static let bundled: Result<EmailRenderer, any Error> = Result {
        guard let directory = Bundle.module.url(forResource: "EmailTemplates", withExtension: nil) else {
            throw Failure(description: "the email templates are missing from the server's resources")
        }
        return try EmailRenderer(directory: directory)
    }

    public static func shared() throws -> EmailRenderer { try bundled.get() }

    public init(directory: URL) throws {
        func read(_ name: String) throws -> String {
            try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }
        textLayout = try MustacheTemplate(string: try read("layout.text.mustache"))
        htmlLayout = try MustacheTemplate(string: try read("layout.html.mustache"))
        var phrases: [String: [String: MustacheTemplate]] = [:]
        for code in Language.codes {
            let data = try Data(contentsOf: directory.appendingPathComponent("\(code).json"))
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw Failure(description: "\(code).json is not an object")
            }
            var pack: [String: MustacheTemplate] = [:]
            for key in Self.phraseKeys {
                guard let text = object[key] as? String, !text.isEmpty else {
                    throw Failure(description: "\(code).json has no phrase '\(key)'")
                }
                pack[key] = try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + text)
            }
            phrases[code] = pack
        }
        self.phrases = phrases
    }

    public func render(_ content: EmailContent, language: String, organisation: String) throws -> RenderedEmail {
        guard let pack = phrases[language] else { throw Failure(description: "no templates for language '\(language)'") }
        let firstName = content.firstName.map(MIMEBuilder.headerSafe).flatMap { $0.isEmpty ? nil : $0 }
        var values: [String: Any] = ["organisation": MIMEBuilder.headerSafe(organisation)]
        if let firstName { values["first_name"] = firstName }
        if let due = content.dueDate { values["due_date"] = due }
        func phrase(_ key: String) -> String {
            // Every key was checked at load time.
            pack[key]!.render(values).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let kind = content.kind.rawValue
        let rtl = Language.rightToLeft.contains(language)
        var context: [String: Any] = [
            "lang": language, "dir": rtl ? "rtl" : "ltr", "align": rtl ? "right" : "left", "start": rtl ? "right" : "left",
            "organisation": values["organisation"]!,
            "subject": phrase("\(kind).subject"), "greeting": phrase("greeting"), "body": phrase("\(kind).body"),
            "signoff": phrase("signoff"), "footer": phrase("footer"),
        ]
        if content.kind == .resubmissionRequested {
            let steps = content.steps.filter { pack["step.\($0)"] != nil }.map { phrase("step.\($0)") }
            context["has_steps"] = !steps.isEmpty
            context["steps"] = steps
            context["steps_intro"] = phrase("\(kind).steps")
            if let link = content.link {
                context["has_link"] = true
                context["link"] = link
                context["button"] = phrase("\(kind).button")
                context["link_hint"] = phrase("link_hint")
            }
        }
        if let reason = content.reason?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty,
            [.kycChangesRequested, .kycRejected].contains(content.kind)
        {
            context["has_reason"] = true
            context["reason"] = reason
            context["reason_label"] = phrase("reason")
        }
        if content.kind == .kycChangesRequested {
            if !content.fields.isEmpty {
                context["has_fields"] = true
                context["fields"] = content.fields
                context["fields_intro"] = phrase("\(kind).fields")
            }
            if content.dueDate != nil {
                context["has_due"] = true
                context["due"] = phrase("\(kind).due")
            }
        }
        let text = textLayout.render(context)
        return RenderedEmail(
            subject: context["subject"] as! String,
            text: Self.tidy(text), html: htmlLayout.render(context))
    }

    /// At most one blank line in a row, and a final newline.
    static func tidy(_ text: String) -> String {
        var lines: [String] = []
        for line in text.components(separatedBy: "\n") {
            let trimmed = line.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
            if trimmed.isEmpty && (lines.last?.isEmpty ?? true) && trimmed != "-- " { continue }
            lines.append(line == "-- " ? line : trimmed)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n") + "\n"
    }
}
