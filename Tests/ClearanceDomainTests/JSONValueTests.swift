import Foundation
import Testing
@testable import ClearanceDomain

@Suite("Canonical JSON")
struct JSONValueTests {
    @Test func keysAreSortedAtEveryLevelWithoutSpaces() {
        let value: JSONValue = ["b": 1, "a": ["d": true, "c": nil], "list": [3, "x"]]
        #expect(value.canonicalText == #"{"a":{"c":null,"d":true},"b":1,"list":[3,"x"]}"#)
    }

    @Test func nonASCIIIsWrittenAsIsAndControlCharactersAreEscaped() {
        let value: JSONValue = ["name": "Zoë Šťastná 李", "note": "a\"b\\c\nd\u{01}"]
        #expect(value.canonicalText == "{\"name\":\"Zoë Šťastná 李\",\"note\":\"a\\\"b\\\\c\\nd\\u0001\"}")
        // Each escape alone in a string (the writer copies strings that need none in one go).
        #expect(JSONValue.string("a\\b").canonicalText == #""a\\b""#)
        #expect(JSONValue.string("a\"b").canonicalText == #""a\"b""#)
        #expect(JSONValue.string("a\u{01}b").canonicalText == #""a\u0001b""#)
        // The short escapes Python writes, and \u00XX (lower-case) for the other control characters.
        #expect(JSONValue.string("\t\r\u{08}\u{0C}\u{1F}\u{7F}").canonicalText == "\"\\t\\r\\b\\f\\u001f\u{7F}\"")
    }

    @Test func aRepeatedNameKeepsItsFirstValueAsJSONDecoderDoes() {
        #expect(JSONValue(parsing: #"{"a":1,"b":{"c":true,"c":false},"a":2}"#) == ["a": 1, "b": ["c": true]])
    }

    @Test func wholeFloatsAreWrittenAsIntegers() {
        #expect(JSONValue.double(3.0).canonicalText == "3")
        #expect(JSONValue.double(-12.0).canonicalText == "-12")
        #expect(JSONValue.double(0.5).canonicalText == "0.5")
        #expect(JSONValue.double(1e16).canonicalText == "10000000000000000")
        #expect(JSONValue.double(1e22).canonicalText == "10000000000000000000000")
        #expect(JSONValue.double(1e-7).canonicalText == "1e-07")
        #expect(JSONValue.double(2.5).canonicalText == "2.5")
    }

    @Test func parsingAndEncodingRoundTrip() throws {
        let text = #"{"a":[1,2.5,"x",null,false],"b":{"c":"é"}}"#
        let value = try #require(JSONValue(parsing: text))
        #expect(value.canonicalText == text)
        let reencoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        #expect(reencoded == value)
        #expect(JSONValue(parsing: "{not json") == nil)
    }

    @Test(arguments: [
        "{", "[1,]", "{\"a\":}", "01", "1.", ".5", "-", "tru", "\"unterminated", "\"bad \\x escape\"", "[1 2]",
        "{\"a\" 1}", "\"\\ud800\"", "1e", "NaN", "\"tab\there\"",
    ])
    func theParserRefusesMalformedJSON(_ text: String) {
        #expect(JSONValue(parsing: text) == nil, "\(text)")
    }

    @Test func theParserReadsEveryForm() {
        #expect(JSONValue(parsing: #" {"a" : [1, -2.5e3, true, false, null, "x\u00e9\ud83d\ude00\n"], "b": {}} "#)
            == ["a": [1, .double(-2500), true, false, nil, .string("xé😀\n")], "b": .object([:])])
        #expect(JSONValue(parsing: "9223372036854775807") == .int(Int64.max))
        #expect(JSONValue(parsing: "1e400") == nil)
        #expect(JSONValue(parsing: "-0") == .int(0))
    }

    @Test func keyOrderFollowsCodePointsLikePython() {
        let value: JSONValue = ["é": 1, "z": 2, "A": 3, "a": 4, "\u{FF21}": 5, "\u{1F600}": 6]
        // python3 -c 'import json; print(json.dumps({"é":1,"z":2,"A":3,"a":4,"\uff21":5,"\U0001F600":6}, sort_keys=True, separators=(",",":"), ensure_ascii=False))'
        #expect(value.canonicalText == "{\"A\":3,\"a\":4,\"z\":2,\"é\":1,\"\u{FF21}\":5,\"\u{1F600}\":6}")
    }
}

@Suite("Timestamps")
struct TimestampTests {
    @Test func keepsFractionsOfASecond() throws {
        let date = try #require(Timestamp.parse("2024-05-24T10:23:17.628Z"))
        #expect(Timestamp.milliseconds(date) == 1_716_546_197_628)
    }

    @Test func formatsWithMillisecondsInUTC() {
        #expect(Timestamp.iso8601(milliseconds: 1_716_546_197_628) == "2024-05-24T10:23:17.628Z")
    }

    @Test(arguments: ["2026-06-01T00:00:00.000Z", "2026-06-01T00:00:00Z", "2026-06-01T02:00:00+02:00", "2026-05-31T21:30:00-02:30", "2026-06-01", "2026-06-01T00:00"])
    func parsesCommonForms(_ text: String) throws {
        let date = try #require(Timestamp.parse(text))
        #expect(Timestamp.iso8601(date) == "2026-06-01T00:00:00.000Z")
    }

    @Test(arguments: ["", "tomorrow", "2026-13-01", "2026-06-01T25:00:00Z", "01/06/2026", "2026-02-31", "2026-06-01T10:60:00Z", "2026-06-01T10:00:00+25:00"])
    func rejectsOthers(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
    }
}
