import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SQLKit
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

/// A transport that records or refuses, for the outbox's retry rules (the
/// real SMTP conversation is tested against a real server in Tests/compat).
struct ScriptedTransport: MailTransport {
    let failure: MailTransportError?
    var summary: String { "scripted" }
    func send(from: String, to: String, data: String) async throws {
        if let failure { throw failure }
    }
}

extension TestServer {
    static let emailConfiguration: ServerConfiguration = {
        var configuration = ServerConfiguration(port: 0, publicURL: "http://clearance.test")
        configuration.emailSender = EmailSender(name: "Acme Bank", address: "kyc@acme.example")
        return configuration
    }()

    func emails(_ session: SessionRecord) async throws -> [EmailStatus] {
        try await store.emails.emails(sessionID: session.id)
    }
}

func errors(_ response: TestResponse) -> [String: Any] { response.json["errors"] as? [String: Any] ?? [:] }

@Suite("Emails: session outbox, previews and tokens")
struct SessionEmailTests {
    @Test func sendEmailQueuesOneMessageInTheChangesTransaction() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.ocr])
            let session = try await driver.decided(workflow, .inReview, email: "zoe@example.com")
            try await server.test { client in
                let path = "/v3/session/\(session.id)/update-status/"
                let quiet = try await client.json(.patch, path, key: server.adminKey, #"{"new_status":"Declined"}"#)
                #expect(quiet.status == .ok)
                #expect(try await server.emails(session).isEmpty, "no email without send_email")
                let loud = try await client.json(
                    .patch, path, key: server.adminKey, #"{"new_status":"Approved","send_email":true,"email_language":"fr"}"#)
                #expect(loud.status == .ok, "\(loud.text)")
                let queued = try await server.emails(session)
                #expect(queued.map(\.kind) == [.decisionApproved])
                #expect(queued.first?.language == "fr")
                #expect(queued.first?.status == "pending")
                // Same status: 200, nothing happens, no second email.
                let same = try await client.json(.patch, path, key: server.adminKey, #"{"new_status":"Approved","send_email":true}"#)
                #expect(same.status == .ok)
                #expect(try await server.emails(session).count == 1)
            }
        }
    }

    @Test func badEmailInputIs400NamingTheFieldAndChangesNothing() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.ocr])
            let session = try await driver.decided(workflow, .inReview)
            let reviews = try await driver.reviewCount(session)
            try await server.test { client in
                let path = "/v3/session/\(session.id)/update-status/"
                let cases: [(String, String)] = [
                    (#"{"new_status":"Approved","send_email":true,"email_language":"pt-PT"}"#, "email_language"),
                    (#"{"new_status":"Approved","send_email":true}"#, "email_address"),
                    (#"{"new_status":"Approved","send_email":true,"email_address":"not-an-address"}"#, "email_address"),
                    (#"{"new_status":"Approved","send_email":true,"email_address":"zoe@example.com\r\nBcc: eve@example.com"}"#, "email_address"),
                    (#"{"new_status":"Approved","send_email":true,"email_address":"zoe@example.com, eve@example.com"}"#, "email_address"),
                ]
                for (text, field) in cases {
                    let response = try await client.json(.patch, path, key: server.adminKey, text)
                    #expect(response.status == .badRequest, "\(text)")
                    #expect(errors(response)[field] != nil, "\(text): \(response.text)")
                }
                for (preview, text, field) in [
                    ("decision-email-preview", #"{"new_status":"Approved","email_language":"xx"}"#, "email_language"),
                    ("decision-email-preview", #"{"new_status":"Resubmitted"}"#, "new_status"),
                    ("decision-email-preview", #"{"new_status":"Approved","email_address":"a@b.com\nBcc: c@d.com"}"#, "email_address"),
                    ("resubmission-preview", #"{"email_language":"klingon"}"#, "email_language"),
                    ("resubmission-preview", #"{"nodes_to_resubmit":["feature_nfc:NFC"]}"#, "nodes_to_resubmit[0]"),
                ] {
                    let response = try await client.json(.post, "/v3/session/\(session.id)/\(preview)/", key: server.adminKey, text)
                    #expect(response.status == .badRequest, "\(text)")
                    #expect(errors(response)[field] != nil, "\(text): \(response.text)")
                }
                let missing = try await client.json(
                    .post, "/v3/session/\(UUID().uuidString.lowercased())/decision-email-preview/", key: server.adminKey,
                    #"{"new_status":"Approved"}"#)
                #expect(missing.status == .notFound)
            }
            #expect(try await driver.reviewCount(session) == reviews)
            #expect(try await server.emails(session).isEmpty)
            #expect(try await server.store.sessions.find(id: session.id, environment: .live)?.status == .inReview)
        }
    }

    @Test func aPreviewTokenLetsExactlyThatEmailThroughAnd409sOtherwise() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.ocr, .liveness])
            let session = try await driver.decided(workflow, .inReview, email: "zoe@example.com")
            try await server.test { client in
                let preview = try await client.json(
                    .post, "/v3/session/\(session.id)/decision-email-preview/", key: server.adminKey,
                    #"{"new_status":"Declined","email_language":"es"}"#)
                #expect(preview.status == .ok, "\(preview.text)")
                #expect(preview.json["recipient"] as? String == "zoe@example.com")
                #expect(preview.json["recipient_source"] as? String == "contact_details")
                #expect(preview.json["sender_name"] as? String == "Acme Bank")
                #expect(preview.json["sender_email"] as? String == "kyc@acme.example")
                #expect(preview.json["subject"] as? String == "Tu verificación de identidad no ha sido aprobada")
                #expect((preview.json["html"] as? String)?.contains("lang=\"es\"") == true)
                #expect(preview.json["will_be_sent"] as? Bool == true)
                #expect(preview.json["not_sent_reason"] is NSNull)
                let token = try #require(preview.json["preview_token"] as? String)
                #expect(try await server.emails(session).isEmpty, "a preview sends nothing")

                let path = "/v3/session/\(session.id)/update-status/"
                for other in [
                    #"{"new_status":"Declined","send_email":true,"email_language":"en","email_preview_token":"\#(token)"}"#,
                    #"{"new_status":"Declined","send_email":true,"email_language":"es","email_address":"other@example.com","email_preview_token":"\#(token)"}"#,
                    #"{"new_status":"Approved","send_email":true,"email_language":"es","email_preview_token":"\#(token)"}"#,
                    #"{"new_status":"Declined","send_email":false,"email_language":"es","email_preview_token":"\#(token)"}"#,
                    #"{"new_status":"Declined","send_email":true,"email_language":"es","email_preview_token":"1.\#(String(repeating: "ab", count: 32))"}"#,
                ] {
                    let refused = try await client.json(.patch, path, key: server.adminKey, other)
                    #expect(refused.status == .conflict, "\(other): \(refused.text)")
                }
                #expect(try await server.store.sessions.find(id: session.id, environment: .live)?.status == .inReview)
                #expect(try await server.emails(session).isEmpty)
                let accepted = try await client.json(
                    .patch, path, key: server.adminKey,
                    #"{"new_status":"Declined","send_email":true,"email_language":"es","email_preview_token":"\#(token)"}"#)
                #expect(accepted.status == .ok, "\(accepted.text)")
                #expect(try await server.emails(session).map(\.kind) == [.decisionDeclined])
                // The change is made: the same preview now says it would do nothing.
                let after = try await client.json(
                    .post, "/v3/session/\(session.id)/decision-email-preview/", key: server.adminKey, #"{"new_status":"Declined"}"#)
                #expect(after.json["will_be_sent"] as? Bool == false)
                #expect(after.json["preview_token"] is NSNull)
                #expect((after.json["not_sent_reason"] as? String)?.isEmpty == false)
            }
        }
    }

    @Test func resubmissionPreviewNamesTheStepsAndLinkAndItsTokenMatches() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.ocr, .liveness, .proofOfAddress])
            let created = try await driver.create(workflow, email: "zoe@example.com")
            try await driver.report(created, "feature_ocr", .approved, data: ["first_name": "Zoë"])
            try await driver.report(created, "feature_liveness", .declined)
            let session = try await driver.report(created, "feature_proof_of_address", .inReview)
            #expect(session.status == .declined)
            try await server.test { client in
                let preview = try await client.json(
                    .post, "/v3/session/\(session.id)/resubmission-preview/", key: server.adminKey, #"{"email_language":"de"}"#)
                #expect(preview.status == .ok, "\(preview.text)")
                let text = try #require(preview.json["text"] as? String)
                #expect(text.hasPrefix("Hallo Zoë,"))
                #expect(text.contains("Selfie") && text.contains("Adressnachweis"))
                #expect(!text.contains("Ausweisdokument"), "an approved node is not redone")
                #expect(text.contains("http://clearance.test/verify/\(session.token)"))
                let token = try #require(preview.json["preview_token"] as? String)
                // A narrower selection is another email.
                let narrower = try await client.json(
                    .patch, "/v3/session/\(session.id)/update-status/", key: server.adminKey,
                    #"{"new_status":"Resubmitted","send_email":true,"email_language":"de","nodes_to_resubmit":["feature_liveness:LIVENESS"],"email_preview_token":"\#(token)"}"#)
                #expect(narrower.status == .conflict)
                let accepted = try await client.json(
                    .patch, "/v3/session/\(session.id)/update-status/", key: server.adminKey,
                    #"{"new_status":"Resubmitted","send_email":true,"email_language":"de","email_preview_token":"\#(token)"}"#)
                #expect(accepted.status == .ok, "\(accepted.text)")
                #expect(try await server.emails(session).map(\.kind) == [.resubmissionRequested])
            }
        }
    }

    @Test func aResubmissionOfOnlyChecksWithoutThePersonHasNoEmail() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.ocr, .aml])
            let created = try await driver.create(workflow, email: "zoe@example.com")
            try await driver.report(created, "feature_ocr", .approved)
            let session = try await driver.report(created, "feature_aml", .declined)
            try await server.test { client in
                let preview = try await client.json(
                    .post, "/v3/session/\(session.id)/resubmission-preview/", key: server.adminKey, #"{"nodes_to_resubmit":["feature_aml:AML"]}"#)
                #expect(preview.json["will_be_sent"] as? Bool == false)
                #expect((preview.json["not_sent_reason"] as? String)?.contains("AML") == true)
                let path = "/v3/session/\(session.id)/update-status/"
                // Didit clients send send_email freely: the change goes through, without an email.
                let changed = try await client.json(
                    .patch, path, key: server.adminKey, #"{"new_status":"Resubmitted","send_email":true,"nodes_to_resubmit":["feature_aml:AML"]}"#)
                #expect(changed.status == .ok, "\(changed.text)")
                #expect(changed.json["status"] as? String == "Resubmitted")
            }
            #expect(try await server.emails(session).isEmpty)
        }
    }

    @Test func aVerifiedAddressIsPreferredToTheContactAddress() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.emailVerification])
            let created = try await driver.create(workflow, email: "contact@example.com")
            let session = try await driver.report(created, "feature_email_verification", .approved, data: ["email": "proved@example.com"])
            #expect(session.status == .approved)
            try await server.test { client in
                let preview = try await client.json(
                    .post, "/v3/session/\(session.id)/decision-email-preview/", key: server.adminKey, #"{"new_status":"Declined"}"#)
                #expect(preview.json["recipient"] as? String == "proved@example.com")
                #expect(preview.json["recipient_source"] as? String == "email_verification")
                let given = try await client.json(
                    .post, "/v3/session/\(session.id)/decision-email-preview/", key: server.adminKey,
                    #"{"new_status":"Declined","email_address":"given@example.com"}"#)
                #expect(given.json["recipient_source"] as? String == "request")
            }
        }
    }

    @Test func automaticDecisionsEmailOnlyWhenTheIntegratorAskedForIt() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let service = SessionService(store: server.store, emailSender: TestServer.emailConfiguration.emailSender)
            let workflow = try await server.workflow([.ocr])
            func session(_ contact: JSONValue) async throws -> SessionRecord {
                let created = try await service.create(
                    .init(workflowID: workflow.id, personal: SessionPersonalData(contactDetails: contact)),
                    principal: TestServer.principal(), requestID: nil, now: Date())
                return try #require(
                    try await service.reportNode(
                        sessionID: created.id, nodeID: "feature_ocr", report: .init(status: .approved),
                        principal: TestServer.principal(), requestID: nil, now: Date()))
            }
            let asked = try await session(["email": "a@example.com", "send_notification_emails": true, "email_lang": "pt-BR"])
            #expect(asked.status == .approved)
            let queued = try await server.emails(asked)
            #expect(queued.map(\.kind) == [.decisionApproved])
            #expect(queued.first?.language == "pt-BR")
            let silent = try await session(["email": "b@example.com"])
            #expect(silent.status == .approved)
            #expect(try await server.emails(silent).isEmpty)
        }
    }

    @Test func deliveryWritesAnEmlFileAndDropsThePersonalData() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.ocr])
            let session = try await driver.decided(workflow, .inReview, email: "zoe@example.com")
            let change = SessionService.ManualChange(newStatus: .approved, sendEmail: true, emailLanguage: "he")
            _ = try await SessionService(store: server.store, emailSender: TestServer.emailConfiguration.emailSender)
                .updateStatus(id: session.id, change: change, principal: driver.principal, requestID: nil, now: Date())
            // At rest the address is sealed, never plain.
            let sealed = try await server.store.database.read { sql in
                try await sql.raw("SELECT message_sealed FROM email_outbox").first()?.decode(column: "message_sealed", as: Data?.self)
            }
            let bytes = try #require(sealed)
            #expect(bytes.range(of: Data("zoe@example.com".utf8)) == nil)

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clearance-eml-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let delivery = EmailDeliveryService(
                store: server.store, transport: EMLDirectoryTransport(directory: directory), logger: TestDatabase.logger)
            #expect(await delivery.deliverDue() == 1)
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".eml") }
            #expect(files.count == 1)
            let path = (directory as NSString).appendingPathComponent(files[0])
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.contains("\r\nTo: <zoe@example.com>\r\n"))
            #expect(text.contains("\r\nContent-Language: he\r\n"))
            #expect(text.hasPrefix("From: \"Acme Bank\" <kyc@acme.example>\r\n"))
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(try await server.emails(session).map(\.status) == ["sent"])
            let after = try await server.store.database.read { sql in
                try await sql.raw("SELECT message_sealed FROM email_outbox").first()?.decode(column: "message_sealed", as: Data?.self)
            }
            #expect(after == nil, "a sent message keeps no copy of the body")
            #expect(await delivery.deliverDue() == 0)
        }
    }

    @Test func refusalsFailAtOnceAndOutagesRetryWithoutLeakingTheAddress() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.ocr])
            let service = SessionService(store: server.store, emailSender: TestServer.emailConfiguration.emailSender)
            func queue(_ address: String) async throws -> SessionRecord {
                let session = try await driver.decided(workflow, .inReview)
                _ = try await service.updateStatus(
                    id: session.id, change: .init(newStatus: .declined, sendEmail: true, emailAddress: address),
                    principal: driver.principal, requestID: nil, now: Date())
                return session
            }
            let refused = try await queue("nobody@example.com")
            let permanent = EmailDeliveryService(
                store: server.store, transport: ScriptedTransport(failure: .permanent("RCPT TO: 550 5.1.1 <nobody@example.com> unknown")),
                logger: TestDatabase.logger)
            #expect(await permanent.deliverDue() == 1)
            let failed = try #require(try await server.emails(refused).first)
            #expect(failed.status == "failed")
            #expect(failed.attempts == 1)
            #expect(failed.lastError?.contains("550") == true)
            #expect(failed.lastError?.contains("nobody@example.com") == false)

            let delayed = try await queue("later@example.com")
            let temporary = EmailDeliveryService(
                store: server.store, transport: ScriptedTransport(failure: .temporary("connection refused")), retryScale: 0.001,
                logger: TestDatabase.logger)
            #expect(await temporary.deliverDue() == 1)
            let pending = try #require(try await server.emails(delayed).first)
            #expect(pending.status == "pending")
            #expect(pending.attempts == 1)
            try await Task.sleep(for: .milliseconds(80))
            let working = EmailDeliveryService(store: server.store, transport: ScriptedTransport(failure: nil), logger: TestDatabase.logger)
            #expect(await working.deliverDue() == 1)
            let sent = try #require(try await server.emails(delayed).first)
            #expect(sent.status == "sent")
            #expect(sent.attempts == 2)
            #expect(try await server.emails(refused).first?.status == "failed", "a failed email is not retried")
            // The session's email log shows it to reviewers, without the address.
            try await server.test { client in
                let log = try await client.json(.get, "/v3/session/\(refused.id)/emails/", key: server.adminKey)
                #expect(log.status == .ok)
                let results = try #require(log.json["results"] as? [[String: Any]])
                #expect(results.count == 1)
                #expect(results.first?["kind"] as? String == "decision_declined")
                #expect(results.first?["status"] as? String == "failed")
                #expect(results.first?["attempts"] as? Int == 1)
                #expect(!log.text.contains("nobody@example.com"))
                let pendingLog = try await client.json(.get, "/v3/session/\(delayed.id)/emails/", key: server.adminKey)
                #expect((pendingLog.json["results"] as? [[String: Any]])?.first?["sent_at"] is String)
                let missing = try await client.json(.get, "/v3/session/\(UUID().uuidString)/emails/", key: server.adminKey)
                #expect(missing.status == .notFound)
            }
        }
    }

    @Test func lineBreaksInNamesAndCommentsCannotReachTheHeaders() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.ocr])
            try await server.test { client in
                // A name given at creation is checked: 400.
                let refused = try await client.json(
                    .post, "/v3/session/", key: server.adminKey,
                    #"{"workflow_id":"\#(workflow.id)","expected_details":{"first_name":"Eve\r\nBcc: mallory@example.com"}}"#)
                #expect(refused.status == .badRequest)
                #expect(errors(refused)["expected_details.first_name"] != nil)
            }
            // A name an integration reports in a check's data is free text: it is made safe instead.
            let created = try await driver.create(workflow, email: "eve@example.com")
            let session = try await driver.report(
                created, "feature_ocr", .approved, data: ["first_name": "Eve\r\nBcc: mallory@example.com"])
            try await server.test { client in
                let changed = try await client.json(
                    .patch, "/v3/session/\(session.id)/update-status/", key: server.adminKey,
                    #"{"new_status":"Declined","send_email":true,"comment":"internal note\r\nBcc: mallory@example.com"}"#)
                #expect(changed.status == .ok, "\(changed.text)")
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clearance-inj-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let delivery = EmailDeliveryService(
                store: server.store, transport: EMLDirectoryTransport(directory: directory), logger: TestDatabase.logger)
            #expect(await delivery.deliverDue() == 1)
            let file = try #require(try FileManager.default.contentsOfDirectory(atPath: directory).first)
            let mime = try String(contentsOfFile: (directory as NSString).appendingPathComponent(file), encoding: .utf8)
            let head = mime.components(separatedBy: "\r\n\r\n")[0]
            // No header line of its own (ids in the head are random hex, which may spell "bcc").
            #expect(!head.lowercased().components(separatedBy: "\r\n").contains { $0.hasPrefix("bcc") }, "\(head)")
            #expect(!mime.contains("mallory"), "the name is only in the base64 body")
            let textPart = mime.components(separatedBy: "Content-Transfer-Encoding: base64\r\n\r\n")[1]
                .components(separatedBy: "\r\n--")[0].replacingOccurrences(of: "\r\n", with: "")
            let text = String(decoding: try #require(Data(base64Encoded: textPart)), as: UTF8.self)
            #expect(text.hasPrefix("Hello Eve  Bcc: mallory@example.com,\r\n"), "\(text)")
            #expect(!text.contains("internal note"), "the reviewer's comment is not sent")
        }
    }

    @Test func deletingTheSessionShredsItsQueuedEmail() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let driver = SessionDriver(server: server)
            let workflow = try await server.workflow([.ocr])
            let service = SessionService(store: server.store)
            let session = try await driver.decided(workflow, .inReview, email: "zoe@example.com")
            _ = try await service.updateStatus(
                id: session.id, change: .init(newStatus: .approved, sendEmail: true), principal: driver.principal, requestID: nil,
                now: Date())
            #expect(try await service.delete(id: session.id, principal: driver.principal, requestID: nil, now: Date()))
            let delivery = EmailDeliveryService(store: server.store, transport: ScriptedTransport(failure: nil), logger: TestDatabase.logger)
            #expect(await delivery.deliverDue() == 1)
            let email = try #require(try await server.emails(session).first)
            #expect(email.status == "failed")
            #expect(email.lastError?.contains("erased") == true)
        }
    }
}

@Suite("Emails: the KYC profile hook")
struct KYCEmailTests {
    /// With polling set to ten minutes, only the commit's wake-up can send
    /// the email within the wait (the same mechanism as webhooks).
    @Test func aQueuedEmailWakesTheWorkerAtCommit() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clearance-wake-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let worker = EmailDeliveryService(
                store: server.store, transport: EMLDirectoryTransport(directory: directory), pollInterval: .seconds(600),
                logger: TestDatabase.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await worker.run() }
                defer { group.cancelAll() }
                // Let the worker reach its idle wait first.
                try await Task.sleep(for: .milliseconds(300))
                let request = KYCEmails.Request(
                    environment: .live, profileID: "profile-wake", recipient: "zoe@example.com", language: "en", firstName: "Zoë",
                    decision: .rejected(reason: "The document is unreadable."))
                try await server.store.database.transaction { sql in
                    _ = try await KYCEmails.enqueue(
                        request, sender: TestServer.emailConfiguration.emailSender, store: server.store, now: Date(), on: sql)
                }
                let deadline = ContinuousClock.now + .seconds(60)
                var files: [String] = []
                while ContinuousClock.now < deadline {
                    files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
                    if !files.isEmpty { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(files.count == 1, "sent without waiting for the ten-minute poll")
            }
        }
    }

    @Test func enqueueQueuesRenderedKYCEmailsInTheCallersTransaction() async throws {
        try await TestServer.with(configuration: TestServer.emailConfiguration) { server in
            let sender = TestServer.emailConfiguration.emailSender
            let changes = KYCEmails.Request(
                environment: .live, profileID: "profile-1", recipient: "zoe@example.com", language: "it", firstName: "Zoë",
                decision: .changesRequested(
                    reason: "Indirizzo illeggibile.", fields: ["address", "date_of_birth"],
                    dueAt: Date(timeIntervalSince1970: 1_898_208_000)))  // 2030-02-25T00:00:00Z
            let rejected = KYCEmails.Request(
                environment: .live, profileID: "profile-1", recipient: "zoe@example.com", language: "ja", firstName: nil,
                decision: .rejected(reason: "制裁リストに該当"))
            // Two instants apart: the log is ordered by time (then by a random id).
            // Both in the past, so both are due when delivered below, however fast.
            let now = Date().addingTimeInterval(-1)
            try await server.store.database.transaction { sql in
                try await KYCEmails.enqueue(changes, sender: sender, store: server.store, now: now, on: sql)
                try await KYCEmails.enqueue(rejected, sender: sender, store: server.store, now: now.addingTimeInterval(0.01), on: sql)
            }
            // A transaction that fails takes its email with it.
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await server.store.database.transaction { sql in
                    try await KYCEmails.enqueue(rejected, sender: sender, store: server.store, now: Date(), on: sql)
                    throw Abort()
                }
            }
            let queued = try await server.store.emails.emails(subjectID: "profile-1")
            #expect(queued.map(\.kind) == [.kycChangesRequested, .kycRejected])
            #expect(queued.map(\.language) == ["it", "ja"])

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clearance-kyc-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let delivery = EmailDeliveryService(
                store: server.store, transport: EMLDirectoryTransport(directory: directory), logger: TestDatabase.logger)
            #expect(await delivery.deliverDue() == 2)
            let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(files.count == 2)
            let texts = try files.map { try String(contentsOfFile: (directory as NSString).appendingPathComponent($0), encoding: .utf8) }
            #expect(texts.contains { $0.contains("Content-Language: it") } && texts.contains { $0.contains("Content-Language: ja") })
            #expect(KYCEmails.dueText(Date(timeIntervalSince1970: 1_898_208_000)) == "2030-02-25")
            #expect(KYCEmails.dueText(Date(timeIntervalSince1970: 1_898_208_000 + 17 * 3600 + 30 * 60)) == "2030-02-25 17:30 UTC")

            for (request, field) in [
                (KYCEmails.Request(environment: .live, profileID: "p", recipient: "bad\r\nBcc: x@y.z", language: "en", firstName: nil, decision: .rejected(reason: "r")), "email"),
                (KYCEmails.Request(environment: .live, profileID: "p", recipient: "a@b.com", language: "xx", firstName: nil, decision: .rejected(reason: "r")), "language"),
            ] {
                do {
                    try await server.store.database.transaction { sql in
                        try await KYCEmails.enqueue(request, sender: sender, store: server.store, now: Date(), on: sql)
                    }
                    Issue.record("\(field) was accepted")
                } catch let error as APIError {
                    #expect(error.status == .badRequest)
                    #expect(error.issues.contains { $0.path == field }, "\(field)")
                }
            }
            #expect(try await server.store.emails.emails(subjectID: "p").isEmpty)
        }
    }
}
