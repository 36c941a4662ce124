import Foundation
import Testing
import ClearanceDomain
import ClearanceServer

@Suite("Emails: templates in every language")
struct EmailTemplateTests {
    static let contents: [EmailContent] = [
        EmailContent(kind: .decisionApproved, firstName: "Zoë"),
        EmailContent(kind: .decisionDeclined, firstName: "Zoë"),
        EmailContent(
            kind: .resubmissionRequested, firstName: "Zoë", link: "https://kyc.example/verify/tok_123",
            steps: ["document", "selfie"]),
        EmailContent(
            kind: .kycChangesRequested, firstName: "Zoë", reason: "The address is unreadable.",
            fields: ["residential_address"], dueDate: "2030-01-31"),
        EmailContent(kind: .kycRejected, firstName: "Zoë", reason: "Sanctions list match."),
    ]

    @Test func theFilesCoverEveryListedLanguageAndNothingElse() throws {
        let directory = Self.templatesDirectory()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }
        #expect(Set(files.map { String($0.dropLast(5)) }) == Set(Language.codes))
        #expect(Language.codes.count == 50)
    }

    /// The templates folder in the source tree (the bundle copies it as is).
    static func templatesDirectory() -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/ClearanceServer/Emails/EmailTemplates")
    }

    @Test(arguments: Language.codes)
    func everyKindRendersWithEveryFact(_ language: String) throws {
        let renderer = try EmailRenderer.shared()
        let english = try Self.contents.map { try renderer.render($0, language: "en", organisation: "Acme Bank") }
        for (index, content) in Self.contents.enumerated() {
            let email = try renderer.render(content, language: language, organisation: "Acme Bank")
            let context = "\(language) \(content.kind.rawValue)"
            #expect(!email.subject.isEmpty, "\(context)")
            #expect(!email.subject.contains("{{") && !email.text.contains("{{") && !email.html.contains("{{"), "\(context)")
            for part in [email.text, email.html] {
                #expect(part.contains("Zoë"), "\(context): first name")
                #expect(part.contains("Acme Bank"), "\(context): organisation")
            }
            if language != "en" {
                // Real translations, not English left in place.
                #expect(email.subject != english[index].subject, "\(context): subject is English")
            }
            let rtl = ["ar", "fa", "he"].contains(language)
            #expect(email.html.contains("<html lang=\"\(language)\" dir=\"\(rtl ? "rtl" : "ltr")\">"), "\(context)")
            switch content.kind {
            case .resubmissionRequested:
                for part in [email.text, email.html] { #expect(part.contains("https://kyc.example/verify/tok_123"), "\(context): link") }
                let stepsPhrase = try Self.phrase(language, "step.document")
                #expect(email.text.contains(stepsPhrase) && email.html.contains(Self.escaped(stepsPhrase)), "\(context): steps")
                #expect(!email.text.contains(try Self.phrase(language, "step.address")), "\(context): unselected step")
            case .kycChangesRequested:
                for part in [email.text, email.html] {
                    #expect(part.contains("The address is unreadable."), "\(context): reason")
                    #expect(part.contains("residential_address"), "\(context): fields")
                    #expect(part.contains("2030-01-31"), "\(context): due date")
                }
            case .kycRejected:
                for part in [email.text, email.html] { #expect(part.contains("Sanctions list match."), "\(context): reason") }
            case .decisionApproved, .decisionDeclined:
                #expect(!email.html.contains("<a href"), "\(context): decisions carry no link")
            }
        }
    }

    static func phrase(_ language: String, _ key: String) throws -> String {
        let data = try Data(contentsOf: templatesDirectory().appendingPathComponent("\(language).json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(object[key] as? String)
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    @Test func everyLanguageFileHasEveryPhraseAndItsPlaceholders() throws {
        for language in Language.codes {
            for key in EmailRenderer.phraseKeys {
                let text = try Self.phrase(language, key)
                for placeholder in EmailRenderer.requiredPlaceholders[key] ?? [] {
                    #expect(text.contains("{{\(placeholder)}}"), "\(language) \(key) lacks {{\(placeholder)}}")
                }
            }
        }
    }

    @Test func valuesCannotAddMarkupOrBreakTheText() throws {
        let renderer = try EmailRenderer.shared()
        let email = try renderer.render(
            EmailContent(kind: .kycRejected, firstName: "<script>alert(1)</script>", reason: "Bad \"doc\" & <b>more</b>"),
            language: "en", organisation: "Acme & <Sons>")
        #expect(!email.html.contains("<script>"))
        #expect(email.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(email.html.contains("Acme &amp; &lt;Sons&gt;"))
        #expect(!email.html.contains("<b>more</b>"))
        #expect(email.text.contains("Hello <script>alert(1)</script>,"), "the text part shows the value as written")
        #expect(email.text.contains("Bad \"doc\" & <b>more</b>"))
    }

    @Test func withoutAFirstNameTheGreetingStillReads() throws {
        let renderer = try EmailRenderer.shared()
        let english = try renderer.render(EmailContent(kind: .decisionApproved), language: "en", organisation: "Acme")
        #expect(english.text.hasPrefix("Hello,\n"))
        let japanese = try renderer.render(EmailContent(kind: .decisionApproved), language: "ja", organisation: "Acme")
        #expect(japanese.text.hasPrefix("お客様\n"))
    }
}
