import Foundation
import Testing
import ClearanceDomain
@testable import ClearanceServer

/// `UpdateStatus` is read straight from the parsed JSON when the body has the
/// plain shape; it must read exactly what `JSONDecoder` reads, and leave
/// everything else (every error among it) to the decoder.
@Suite("Status-change bodies read without JSONDecoder")
struct DirectJSONDecodingTests {
    @Test(arguments: [
        #"{"new_status":"Approved"}"#,
        #"{"new_status":"Declined","comment":"Zoë \"ok\"\n","send_email":true,"email_address":"a@b.co","email_language":"fr","email_preview_token":"t1"}"#,
        #"{"new_status":"In Review","comment":null,"send_email":null,"email_address":null,"nodes_to_resubmit":null,"other":[1,{"x":2}]}"#,
        #"{"new_status":"Approved","send_email":false,"new_status":"Declined"}"#,
    ])
    func readsWhatTheDecoderReads(_ text: String) throws {
        let members = try #require(JSONValue(parsing: text)?.objectValue)
        let direct = try #require(SessionRequests.UpdateStatus(directJSON: members))
        let decoded = try JSONDecoder().decode(SessionRequests.UpdateStatus.self, from: Data(text.utf8))
        #expect(direct.new_status == decoded.new_status)
        #expect(direct.comment == decoded.comment)
        #expect(direct.send_email == decoded.send_email)
        #expect(direct.email_address == decoded.email_address)
        #expect(direct.email_language == decoded.email_language)
        #expect(direct.email_preview_token == decoded.email_preview_token)
        #expect(direct.nodes_to_resubmit == nil && decoded.nodes_to_resubmit == nil)
    }

    @Test(arguments: [
        #"{"comment":"no status"}"#, #"{"new_status":null}"#, #"{"new_status":5}"#,
        #"{"new_status":"Approved","send_email":"yes"}"#, #"{"new_status":"Approved","comment":7}"#,
        #"{"new_status":"Approved","email_language":["en"]}"#, #"{"new_status":"Approved","nodes_to_resubmit":["ocr"]}"#,
    ])
    func leavesTheRestToTheDecoder(_ text: String) throws {
        let members = try #require(JSONValue(parsing: text)?.objectValue)
        #expect(SessionRequests.UpdateStatus(directJSON: members) == nil)
    }
}
