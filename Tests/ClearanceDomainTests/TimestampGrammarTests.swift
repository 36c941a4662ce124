import Foundation
import Testing
import ClearanceDomain

/// The grammar `Timestamp.parse` accepts is the one `openapi.yaml` documents
/// (`DateOrTime`): schemathesis sends whatever the pattern allows and expects
/// it accepted, and everything else refused.
@Suite("Timestamp grammar")
struct TimestampGrammarTests {
    /// Digits of other scripts match Swift's `\d`; `Int` then refused them and
    /// a force unwrap took the whole server down (`GET /v3/sessions/?date_from=٢٠٢٦-01-01`,
    /// a node's `expiration_date`, a date of birth). Found by reading the
    /// parser while writing the document's pattern.
    @Test(arguments: ["٢٠٢٦-01-01", "2026-٠١-01", "2026-01-01T١٠:00Z", "2026-01-01T10:00+٠١:00", "２０２６-01-01"])
    func digitsOfOtherScriptsAreRefusedNotACrash(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
        #expect(FieldRules.date(text) == nil)
    }

    /// Proleptic Gregorian, as RFC 3339 and JSON Schema's `format: date`:
    /// Foundation's calendar is Julian before 15 October 1582, where 1500 is a
    /// leap year and 5–14 October 1582 do not exist.
    @Test func datesAreProlepticGregorian() throws {
        #expect(Timestamp.parse("1500-02-29") == nil)
        #expect(Timestamp.parse("1600-02-29") != nil)
        #expect(Timestamp.parse("1900-02-29") == nil)
        #expect(Timestamp.parse("2000-02-29") != nil)
        #expect(Timestamp.parse("2024-02-29") != nil)
        #expect(Timestamp.parse("2026-02-29") == nil)
        #expect(try #require(Timestamp.parse("1582-10-10")).timeIntervalSince1970 == -12_219_724_800)
        #expect(try #require(Timestamp.parse("0001-01-01")).timeIntervalSince1970 == -62_135_596_800)
        #expect(try #require(Timestamp.parse("9999-12-31T23:59:59Z")).timeIntervalSince1970 == 253_402_300_799)
    }

    @Test(arguments: [
        "2026-06-01 00:00", "2026-06-01t00:00z", "2026-06-01T00:00:00.123456789Z", "2026-06-01T02:00+0200",
        "2026-06-01T02:00:00+02:00", "2026-05-31T23:00-01:00",
    ])
    func acceptsEveryDocumentedForm(_ text: String) throws {
        let date = try #require(Timestamp.parse(text))
        #expect(Timestamp.milliseconds(date) == 1_780_272_000_000 || text.hasSuffix(".123456789Z"))
    }

    @Test(arguments: [
        " 2026-06-01", "2026-06-01 ", "2026-06-01\n", "2026-06-01T00:00:00.1234567890Z", "2026-06-01T00:00:60Z",
        "2026-06-01T24:00", "2026-06-01Z", "2026-6-1", "+2026-06-01", "2026-06-01T00:00+24:00", "2026-06-01T00:00+00:60",
    ])
    func refusesTheRest(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
    }
}
