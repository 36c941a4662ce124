import Foundation
import Testing
import ClearanceServer

@Suite("Emails: settings")
struct EmailSettingsTests {
    @Test(arguments: [
        (["CLEARANCE_SMTP_URL": "http://mail.example.com"], "CLEARANCE_SMTP_URL"),
        (["CLEARANCE_SMTP_URL": "smtp://mail.example.com?starttls=maybe"], "CLEARANCE_SMTP_URL"),
        (["CLEARANCE_SMTP_URL": "smtp://"], "CLEARANCE_SMTP_URL"),
        (["CLEARANCE_SMTP_CA_FILE": "/nonexistent/ca.pem"], "CLEARANCE_SMTP_CA_FILE"),
        (["CLEARANCE_EMAIL_FROM": "kyc@acme.example\r\nBcc: eve@example.com"], "CLEARANCE_EMAIL_FROM"),
        (["CLEARANCE_EMAIL_FROM": "not an address"], "CLEARANCE_EMAIL_FROM"),
        (["CLEARANCE_EMAIL_FROM_NAME": "Acme\nBcc: eve@example.com"], "CLEARANCE_EMAIL_FROM_NAME"),
        (["CLEARANCE_EMAIL_RETRY_SCALE": "2"], "CLEARANCE_EMAIL_RETRY_SCALE"),
    ])
    func aBadEmailSettingStopsServeWithOneLineNamingIt(_ environment: [String: String], _ setting: String) throws {
        var environment = environment
        environment["CLEARANCE_DATA_DIR"] = try CLI.temporaryDirectory()
        let result = try CLI.run(["serve"], environment: environment)
        #expect(result.status == 2, "\(result.stderr)")
        // Counted as scalars: "\r\n" is one Character, and would hide a second line.
        let breaks = result.stderr.unicodeScalars.filter { $0 == "\n" || $0 == "\r" }
        #expect(breaks.count == 1 && result.stderr.hasSuffix("\n"), "one line: \(result.stderr.debugDescription)")
        #expect(result.stderr.contains(setting), "\(result.stderr)")
    }

    /// ServiceLifecycle logs each service it runs as `String(describing:)`.
    @Test func noDescriptionOfTheEmailWorkerShowsTheSMTPPassword() throws {
        let configuration = try SMTPConfiguration.parse("smtp://mailer:p%40ss%3Aword@mail.example.com")
        let transport = try SMTPTransport(configuration: configuration)
        var dumped = ""
        dump(transport, to: &dumped)
        for text in [String(describing: transport), String(reflecting: transport), "\(configuration)", dumped] {
            #expect(!text.contains("p@ss:word") && text.contains("mail.example.com"), "\(text)")
        }
    }

    @Test func smtpURLsParseWithTheirDefaults() throws {
        let starttls = try SMTPConfiguration.parse("smtp://mailer:p%40ss%3Aword@mail.example.com")
        #expect(starttls.security == .startTLS)
        #expect(starttls.port == 587)
        #expect(starttls.username == "mailer")
        #expect(starttls.password == "p@ss:word")
        #expect(!starttls.summary.contains("p@ss"))
        let implicit = try SMTPConfiguration.parse("smtps://mail.example.com")
        #expect(implicit.security == .implicitTLS)
        #expect(implicit.port == 465)
        #expect(implicit.username == nil)
        let relay = try SMTPConfiguration.parse("smtp://127.0.0.1:2525?starttls=never")
        #expect(relay.security == SMTPConfiguration.Security.none)
        #expect(relay.port == 2525)
        #expect(throws: SMTPConfiguration.ParseError.self) { try SMTPConfiguration.parse("smtps://h?starttls=never") }
    }
}
