import Crypto
import Foundation
import Testing
import ClearanceDomain

@Suite("Emails: MIME, addresses and preview tokens")
struct MIMEBuilderTests {
    let message = MailMessage(
        fromName: "Acme Bank", fromAddress: "kyc@acme.example", to: "zoe@example.com", subject: "Ihre Prüfung ✓",
        text: "Hallo Zoë,\n.\nEine Zeile.", html: "<p>Hallo Zoë</p>", language: "de")

    func headers(_ mime: String) -> [String] {
        let head = mime.components(separatedBy: "\r\n\r\n")[0]
        // Unfold continuation lines, then one entry per header.
        return head.replacingOccurrences(of: "\r\n ", with: " ").components(separatedBy: "\r\n")
    }

    /// Decodes `=?UTF-8?B?…?=` words the way a mail reader does.
    func decodeWords(_ value: String) -> String {
        value.split(separator: " ").map { word -> String in
            guard word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?=") else { return String(word) }
            let payload = word.dropFirst(10).dropLast(2)
            return String(decoding: Data(base64Encoded: String(payload)) ?? Data(), as: UTF8.self)
        }.joined()
    }

    @Test func buildsMultipartAlternativeWithEncodedHeadersAndBase64Parts() throws {
        let mime = try MIMEBuilder.build(message, messageID: "abc@acme.example", date: Date(timeIntervalSince1970: 0), boundary: "b1")
        #expect(!mime.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "every line ends in CRLF")
        let lines = headers(mime)
        #expect(lines.contains("From: \"Acme Bank\" <kyc@acme.example>"))
        #expect(lines.contains("To: <zoe@example.com>"))
        #expect(lines.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"))
        #expect(lines.contains("Message-ID: <abc@acme.example>"))
        #expect(lines.contains("Content-Language: de"))
        let subject = try #require(lines.first { $0.hasPrefix("Subject: ") })
        #expect(subject.allSatisfy { $0.isASCII })
        #expect(decodeWords(String(subject.dropFirst(9))) == "Ihre Prüfung ✓")
        #expect(mime.contains("Content-Type: multipart/alternative; boundary=\"b1\""))
        let parts = mime.components(separatedBy: "--b1")
        #expect(parts.count == 4)  // preamble, text, html, closing
        for (part, expected, type) in [(parts[1], message.text, "text/plain"), (parts[2], message.html, "text/html")] {
            #expect(part.contains("Content-Type: \(type); charset=utf-8"))
            let body = part.components(separatedBy: "\r\n\r\n")[1].replacingOccurrences(of: "\r\n", with: "")
            let decoded = String(decoding: try #require(Data(base64Encoded: body)), as: UTF8.self)
            #expect(decoded == expected.replacingOccurrences(of: "\n", with: "\r\n"))
        }
        for line in mime.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 78, "\(line)") }
    }

    @Test func crAndLFInNamesAndSubjectsCannotAddHeaders() throws {
        var hostile = message
        hostile.fromName = "Acme\r\nBcc: victim@example.com"
        hostile.subject = "Hi\r\nBcc: victim@example.com\nX-Evil: 1"
        let mime = try MIMEBuilder.build(hostile, messageID: "x@y.z", date: Date(), boundary: "b")
        let names = headers(mime).map { $0.split(separator: ":").first.map(String.init) ?? "" }
        #expect(!names.contains("Bcc"))
        #expect(!names.contains("X-Evil"))
        #expect(names.filter { $0 == "Subject" }.count == 1)
        let subject = try #require(headers(mime).first { $0.hasPrefix("Subject: ") })
        // The line breaks became spaces inside the one Subject header.
        #expect(subject == "Subject: Hi  Bcc: victim@example.com X-Evil: 1")
        let from = try #require(headers(mime).first { $0.hasPrefix("From: ") })
        #expect(from.hasSuffix(" <kyc@acme.example>"))
        #expect(decodeWords(String(from.dropFirst(6).dropLast(19))) == "Acme  Bcc: victim@example.com")
    }

    @Test func addressesMustBePlainAndSingle() {
        for bad in ["zoe@example.com\r\nBcc: x@y.com", "zoe@example.com, eve@example.com", "<zoe@example.com>", "zoë@exämple.com", "no-at-sign", ""] {
            var hostile = message
            hostile.to = bad
            #expect(throws: MIMEBuilder.Failure.self, "\(bad)") { try MIMEBuilder.build(hostile, messageID: "x@y.z", date: Date(), boundary: "b") }
        }
    }

    @Test func dotStuffingDoublesLeadingDotsAndTerminates() {
        #expect(MIMEBuilder.dotStuffed("a\r\n.b\r\n..c\r\n") == "a\r\n..b\r\n...c\r\n.\r\n")
    }

    @Test func recipientResolutionPrefersRequestThenVerifiedThenContact() {
        #expect(RecipientResolver.resolve(request: "a@x.io", verified: "b@x.io", contact: "c@x.io")?.source == .request)
        #expect(RecipientResolver.resolve(request: nil, verified: "b@x.io", contact: "c@x.io")?.address == "b@x.io")
        #expect(RecipientResolver.resolve(request: nil, verified: "not an address", contact: "c@x.io")?.source == .contactDetails)
        #expect(RecipientResolver.resolve(request: nil, verified: nil, contact: nil) == nil)
    }

    @Test func previewTokensPinTheExactMessageAndExpire() {
        let key = SymmetricKey(size: .bits256)
        let now = Date()
        let token = EmailPreviewToken.make(for: message, kind: .decisionApproved, expires: now.addingTimeInterval(900), key: key)
        #expect(EmailPreviewToken.matches(token, message: message, kind: .decisionApproved, now: now, key: key))
        #expect(!EmailPreviewToken.matches(token, message: message, kind: .decisionApproved, now: now.addingTimeInterval(901), key: key))
        #expect(!EmailPreviewToken.matches(token, message: message, kind: .decisionDeclined, now: now, key: key))
        #expect(!EmailPreviewToken.matches(token, message: message, kind: .decisionApproved, now: now, key: SymmetricKey(size: .bits256)))
        for change in [\MailMessage.to, \.subject, \.text, \.html, \.fromName, \.fromAddress, \.language] {
            var other = message
            other[keyPath: change] += "x"
            #expect(!EmailPreviewToken.matches(token, message: other, kind: .decisionApproved, now: now, key: key))
        }
        // A later expiry written over the token breaks the MAC.
        let forged = "9999999999999." + token.split(separator: ".")[1]
        #expect(!EmailPreviewToken.matches(forged, message: message, kind: .decisionApproved, now: now, key: key))
        #expect(!EmailPreviewToken.matches("old", message: message, kind: .decisionApproved, now: now, key: key))
    }
}
