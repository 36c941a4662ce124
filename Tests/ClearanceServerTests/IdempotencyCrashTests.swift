import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SQLKit
import Testing
import ClearanceDomain
import ClearanceServer
@testable import ClearanceStore
import ClearanceTestSupport

/// Idempotency storage as seen by a process that dies once a request's
/// change has committed, before the answer is stored: storing or freeing
/// the key never happens.
struct DiesBeforeStoringAnswer: IdempotencyRepository {
    struct ProcessDied: Error {}
    let base: any IdempotencyRepository

    func begin(_ claim: IdempotencyClaim) async throws -> IdempotencyBegin { try await base.begin(claim) }
    func markApplied(_ claim: IdempotencyClaim, answer: StoredResponse?, on sql: any SQLDatabase) async throws {
        try await base.markApplied(claim, answer: answer, on: sql)
    }
    func complete(_ claim: IdempotencyClaim, response: StoredResponse) async throws { throw ProcessDied() }
    func release(_ claim: IdempotencyClaim) async throws { throw ProcessDied() }
    func purgeExpired(now: Date) async throws { try await base.purgeExpired(now: now) }
}

extension TestServer {
    /// This server as a process that dies between a change's COMMIT and
    /// storing its answer.
    func dyingBeforeAnswers() -> TestServer {
        var copy = self
        copy.environment.store.idempotency = DiesBeforeStoringAnswer(base: store.idempotency)
        return copy
    }

    /// This server with its clock stopped at `time`: leases are measured on
    /// it alone, so a slow or paused test machine cannot move them.
    func at(_ time: Date) -> TestServer {
        var copy = self
        copy.environment.clock = ServerClock { time }
        return copy
    }
}

/// A retry with the same `Idempotency-Key` after the process died between
/// the change's COMMIT and storing the answer: the change is not made twice.
/// Before, the key was still `running`; after its lease a retry ran the
/// change again (a second session, a status change applied twice).
@Suite("Idempotency-Key across a crash")
struct IdempotencyCrashTests {
    static let replayed = HTTPField.Name("Idempotent-Replayed")!
    /// When the dying process takes the request; the retries come 61 s
    /// later (past the 60 s lease), on a new router: a restarted process.
    let t0 = Timestamp.date(milliseconds: Timestamp.milliseconds(Date()))

    /// Sends `text` with `Idempotency-Key: idempotencyKey` to a process that
    /// dies before storing its answer, runs `meanwhile`, then sends it again
    /// 61 s later to a restarted one: both get `status`, and the retry is the
    /// first answer replayed. Returns the retry.
    func replayedAfterCrash(
        _ server: TestServer, _ method: HTTPRequest.Method, _ uri: String, idempotencyKey: String, _ text: String,
        status: HTTPResponse.Status, meanwhile: () async throws -> Void = {}
    ) async throws -> TestResponse {
        let fields = headers(key: server.adminKey, ["Idempotency-Key": idempotencyKey])
        let first = try await server.at(t0).dyingBeforeAnswers().test { client in
            try await client.execute(uri: uri, method: method, headers: fields, body: body(text))
        }
        #expect(first.status == status)
        try await meanwhile()
        let retry = try await server.at(t0 + 61).test { client in
            try await client.execute(uri: uri, method: method, headers: fields, body: body(text))
        }
        #expect(retry.status == status)
        #expect(retry.headers[Self.replayed] == "true")
        #expect(retry.text == first.text, "the original answer, stored with the change")
        return retry
    }

    @Test func aCreateIsReplayedNotRepeated() async throws {
        try await TestServer.with { server in
            let workflow = try await server.workflow([.ocr])
            // No vendor_data: a second create would be a second session, not a reuse.
            let text = #"{"workflow_id":"\#(workflow.id)","metadata":{"order":7}}"#
            let retry = try await replayedAfterCrash(
                server, .post, "/v3/session/", idempotencyKey: "crash-create-1", text, status: .created,
                meanwhile: {
                    let count = try await sessionCount(server)
                    #expect(count == 1)
                })
            #expect(try await sessionCount(server) == 1)
            let id = try #require(retry.json["session_id"] as? String)
            #expect(try await server.store.sessions.find(id: id, environment: .live)?.token == retry.json["session_token"] as? String)
        }
    }

    @Test func aStatusChangeIsReplayedNotAppliedAgain() async throws {
        try await TestServer.with { server in
            let driver = SessionDriver(server: server)
            let session = try await driver.decided(try await server.workflow([.ocr]), .approved)
            let path = "/v3/session/\(session.id)/update-status/"
            let decline = #"{"new_status":"Declined","comment":"forged document"}"#
            _ = try await replayedAfterCrash(
                server, .patch, path, idempotencyKey: "crash-decline-1", decline, status: .ok,
                meanwhile: {
                    // Meanwhile a reviewer approves it again.
                    try await server.test { client in
                        let approve = try await client.json(.patch, path, key: server.adminKey, #"{"new_status":"Approved"}"#)
                        #expect(approve.status == .ok)
                    }
                })
            #expect(try await server.store.sessions.find(id: session.id, environment: .live)?.status == .approved)
            let declines = try await server.store.sessions.reviews(sessionID: session.id).filter { $0.newStatus == .declined }
            #expect(declines.count == 1)
        }
    }

    @Test func aNodeResultIsReplayedNotReportedAgain() async throws {
        try await TestServer.with { server in
            let driver = SessionDriver(server: server)
            let session = try await driver.create(try await server.workflow([.ocr, .liveness]))
            _ = try await replayedAfterCrash(
                server, .patch, "/v3/session/\(session.id)/features/feature_ocr/update-status/", idempotencyKey: "crash-node-1",
                #"{"new_status":"Approved"}"#, status: .ok)
        }
    }

    /// A route that renders its answer only after COMMIT: the retry is told
    /// the change was applied, and nothing runs again.
    @Test func withoutAStoredAnswerTheRetryIsToldTheChangeWasApplied() async throws {
        try await TestServer.with { server in
            let fields = headers(key: server.adminKey, ["Idempotency-Key": "crash-key-1"])
            let text = #"{"name":"crashed","privileges":["read:audit"]}"#
            let first = try await server.at(t0).dyingBeforeAnswers().test { client in
                try await client.execute(uri: "/v3/api-keys/", method: .post, headers: fields, body: body(text))
            }
            #expect(first.status == .created)
            try await server.at(t0 + 30).test { client in
                let early = try await client.execute(uri: "/v3/api-keys/", method: .post, headers: fields, body: body(text))
                #expect(early.status == .conflict)
                #expect(early.json["code"] as? String == "IDEMPOTENCY_IN_PROGRESS", "within the lease the runner may still answer")
            }
            try await server.at(t0 + 61).test { client in
                let retry = try await client.execute(uri: "/v3/api-keys/", method: .post, headers: fields, body: body(text))
                #expect(retry.status == .conflict)
                #expect(retry.json["code"] as? String == "IDEMPOTENCY_ANSWER_LOST")
                let other = try await client.execute(
                    uri: "/v3/api-keys/", method: .post, headers: fields, body: body(#"{"name":"other","privileges":["read:audit"]}"#))
                #expect(other.status == .unprocessableContent)
            }
            #expect(try await server.store.apiKeys.list().filter { $0.name == "crashed" }.count == 1)
        }
    }

    /// A transaction that changed nothing (the session is not there) before
    /// a 404 still frees the key for a corrected request.
    @Test func aNotFoundFreesTheKey() async throws {
        try await TestServer.with { server in
            let driver = SessionDriver(server: server)
            let session = try await driver.decided(try await server.workflow([.ocr]), .approved)
            let fields = headers(key: server.adminKey, ["Idempotency-Key": "typo-1"])
            let decline = #"{"new_status":"Declined"}"#
            try await server.test { client in
                let missing = try await client.execute(
                    uri: "/v3/session/\(UUID().uuidString.lowercased())/update-status/", method: .patch, headers: fields,
                    body: body(decline))
                #expect(missing.status == .notFound)
                let corrected = try await client.execute(
                    uri: "/v3/session/\(session.id)/update-status/", method: .patch, headers: fields, body: body(decline))
                #expect(corrected.status == .ok)
                #expect(corrected.json["status"] as? String == "Declined")
            }
        }
    }
}
