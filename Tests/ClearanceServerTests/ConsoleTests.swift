import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

/// The reviewer console over real HTTP: sign-in, cookies, CSRF, lock-out,
/// expiry, role gating, and decisions that go through the API's function.
// Serialized: each test makes its own database. With sixteen more created at
// once, two concurrency tests of other suites timed out on a loaded machine
// with PostgreSQL (twice); serialized, the whole suite passed.
@Suite("Reviewer console", .serialized)
struct ConsoleTests {
    @Test func signInSetsAHardenedCookieAndSignOutEndsTheSession() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                let before = try await browser.get("/console/queue")
                #expect(before.status == .seeOther)
                #expect(before.headers[.location]?.hasPrefix("/console/login?next=") == true)

                let signIn = try await browser.signIn("Rita@Example.com")
                #expect(signIn.status == .seeOther)
                #expect(signIn.headers[.location] == "/console/queue")
                let cookie = try #require(browser.lastSetCookies.first { $0.hasPrefix("clearance_console=") })
                #expect(cookie.contains("HttpOnly"))
                #expect(cookie.contains("SameSite=Lax"))
                #expect(cookie.contains("Path=/"))
                #expect(!cookie.contains("Secure"), "no Secure flag on an http public URL")

                let queue = try await browser.get("/console/queue")
                #expect(queue.status == .ok)
                #expect(queue.text.contains("Sessions in review"))
                #expect(queue.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                #expect(queue.headers[.cacheControl] == "no-store")

                let token = try #require(ConsoleBrowser.csrf(in: queue.text))
                let stale = browser.cookies
                let out = try await browser.post("/console/logout", [], csrf: token)
                #expect(out.status == .seeOther)
                #expect(browser.cookies["clearance_console"] == nil)
                browser.cookies = stale  // a copied cookie no longer works either
                #expect(try await browser.get("/console/queue").status == .seeOther)
            }
            let (_, audit) = try await server.store.audit.entries(subjectID: nil, limit: 50, offset: 0)
            #expect(audit.contains { $0.action == "console_user.signed_in" })
            #expect(audit.contains { $0.action == "console_user.signed_out" })
        }
    }

    @Test func anHTTPSPublicURLMakesTheCookieSecure() async throws {
        try await TestServer.with(configuration: .consoleTest(publicURL: "https://review.example.com")) { server in
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                #expect(try await browser.signIn("rita@example.com").status == .seeOther)
                let cookie = try #require(browser.lastSetCookies.first { $0.hasPrefix("__Host-clearance_console=") })
                #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"))
            }
        }
    }

    @Test func wrongPasswordsAreRefusedAndFiveLockTheAccount() async throws {
        let clock = MovableClock()
        try await TestServer.with(configuration: .consoleTest(), clock: clock.serverClock) { server in
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                let unknown = try await browser.signIn("nobody@example.com")
                #expect(unknown.status == .unauthorized)
                #expect(unknown.text.contains("The email or password is not right."))
                for attempt in 1...4 {
                    let wrong = try await browser.signIn("rita@example.com", password: "wrong password \(attempt)")
                    #expect(wrong.status == .unauthorized)
                    #expect(browser.cookies["clearance_console"] == nil)
                }
                let fifth = try await browser.signIn("rita@example.com", password: "wrong again")
                #expect(fifth.status == .tooManyRequests)
                #expect(fifth.text.contains("locked until"))
                let rightButLocked = try await browser.signIn("rita@example.com")
                #expect(rightButLocked.status == .tooManyRequests)
                #expect(browser.cookies["clearance_console"] == nil)

                clock.advance(16 * 60)
                #expect(try await browser.signIn("rita@example.com").status == .seeOther)
                #expect(browser.cookies["clearance_console"] != nil)
            }
            let user = try #require(try await ConsoleUserRepository(database: server.store.database).find(email: "rita@example.com"))
            #expect(user.failedLogins == 0 && user.lockedUntil == nil)
        }
    }

    @Test func disabledUsersCannotSignInAndLoseTheirSessions() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            let user = try await server.consoleUser("rita@example.com", roles: [.reviewer])
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                #expect(try await browser.signIn("rita@example.com").status == .seeOther)
                #expect(try await browser.get("/console/queue").status == .ok)
                _ = try await ConsoleAccountService(store: server.store).disable(user.email, actor: "test", now: Date())
                #expect(try await browser.get("/console/queue").status == .seeOther)
                #expect(try await browser.signIn("rita@example.com").status == .unauthorized)
            }
        }
    }

    @Test func theSignInFormNeedsItsToken() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                let noToken = try await browser.post(
                    "/console/login", [("email", "rita@example.com"), ("password", TestServer.consolePassword)], csrf: nil)
                #expect(noToken.status == .forbidden)
                _ = try await browser.get("/console/login")
                let wrong = try await browser.post(
                    "/console/login", [("email", "rita@example.com"), ("password", TestServer.consolePassword)],
                    csrf: String(repeating: "A", count: 43))
                #expect(wrong.status == .forbidden)
                #expect(browser.cookies["clearance_console"] == nil)
            }
        }
    }

    @Test func sessionsExpireWhenIdleAndAfterTwelveHours() async throws {
        let clock = MovableClock()
        try await TestServer.with(configuration: .consoleTest(), clock: clock.serverClock) { server in
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                try await browser.signIn("rita@example.com")
                clock.advance(59 * 60)
                #expect(try await browser.get("/console/queue").status == .ok)
                clock.advance(61 * 60)
                #expect(try await browser.get("/console/queue").status == .seeOther, "idle for more than an hour")

                try await browser.signIn("rita@example.com")
                for _ in 0..<14 {
                    clock.advance(50 * 60)
                    #expect(try await browser.get("/console/queue").status == .ok)
                }
                clock.advance(50 * 60)  // 12.5 h after sign-in, though never idle
                #expect(try await browser.get("/console/queue").status == .seeOther)
            }
        }
    }

    @Test func everyFormPostNeedsTheSessionsCSRFToken() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            let workflow = try await server.workflow([.ocr, .liveness, .faceMatch, .aml])
            let session = try await server.sessionInReview(workflow)
            #expect(session.status == .inReview)
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                try await browser.signIn("rita@example.com")
                let token = try #require(try await browser.pageToken())
                let posts: [(String, [(String, String)])] = [
                    ("/console/environment", [("environment", "sandbox")]),
                    ("/console/sessions/\(session.id)/decision", [("action", "approve")]),
                    ("/console/sessions/\(session.id)/assign", [("to", "me")]),
                    ("/console/logout", []),
                ]
                for (path, fields) in posts {
                    #expect(try await browser.post(path, fields, csrf: nil).status == .forbidden, "\(path) without a token")
                    #expect(try await browser.post(path, fields, csrf: token + "x").status == .forbidden, "\(path) with a wrong token")
                }
                // Another user's token does not work in this session.
                try await server.consoleUser("sam@example.com", roles: [.reviewer])
                let other = ConsoleBrowser(client)
                try await other.signIn("sam@example.com")
                let otherToken = try #require(try await other.pageToken())
                #expect(otherToken != token)
                #expect(try await browser.post("/console/environment", [("environment", "sandbox")], csrf: otherToken).status == .forbidden)

                #expect(try await browser.post("/console/environment", [("environment", "sandbox")], csrf: token).status == .seeOther)
                #expect(try await browser.post("/console/sessions/\(session.id)/decision", [("action", "approve")], csrf: token).status == .seeOther)
            }
            #expect(try await server.store.sessions.find(id: session.id, environment: .sandbox)?.status == .approved)
        }
    }

    @Test func pagesFollowTheUsersRoles() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            try await server.consoleUser("kim@example.com", roles: [.claimIssuer])
            try await server.consoleUser("ada@example.com", roles: [.admin])
            try await server.test(.live) { client in
                let reviewer = ConsoleBrowser(client)
                try await reviewer.signIn("rita@example.com")
                let queue = try await reviewer.get("/console/queue")
                #expect(queue.status == .ok)
                #expect(!queue.text.contains("/console/kyc"), "no KYC link for a reviewer")
                #expect(!queue.text.contains("/console/keys"), "no API keys link for a reviewer")
                #expect(try await reviewer.get("/console/kyc").status == .forbidden)
                #expect(try await reviewer.get("/console/keys").status == .forbidden)
                let token = try #require(ConsoleBrowser.csrf(in: queue.text))
                #expect(try await reviewer.post("/console/keys", [("name", "x"), ("environment", "live"), ("privileges", "read:audit")], csrf: token).status == .forbidden)
                #expect(try await server.store.apiKeys.list().count == 1)

                let kyc = ConsoleBrowser(client)
                try await kyc.signIn("kim@example.com")
                let kycPage = try await kyc.get("/console/kyc")
                #expect(kycPage.status == .ok)
                #expect(!kycPage.text.contains("/console/queue\""), "no sessions link without the reviewer role")
                #expect(try await kyc.get("/console/queue").status == .forbidden)

                let admin = ConsoleBrowser(client)
                try await admin.signIn("ada@example.com")
                let keys = try await admin.get("/console/keys")
                #expect(keys.status == .ok)
                #expect(keys.text.contains("/console/kyc") && keys.text.contains("/console/keys"))
                let adminToken = try #require(ConsoleBrowser.csrf(in: keys.text))
                let created = try await admin.post(
                    "/console/keys", [("name", "partner"), ("environment", "sandbox"), ("privileges", "read:sessions")], csrf: adminToken)
                #expect(created.status == .created)
                #expect(created.text.contains("clr_sandbox_"), "the new key is shown once")
            }
            let keys = try await server.store.apiKeys.list()
            let admin = try #require(try await ConsoleUserRepository(database: server.store.database).find(email: "ada@example.com"))
            #expect(keys.contains { $0.name == "partner" && $0.createdBy == "console:\(admin.id)" })
        }
    }

    @Test func decisionsGoThroughTheAPIsFunctionAndTheAuditNamesTheReviewer() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            let rita = try await server.consoleUser("rita@example.com", roles: [.reviewer])
            let workflow = try await server.workflow([.ocr, .liveness, .faceMatch, .aml])
            let first = try await server.sessionInReview(workflow, vendorData: "customer-1")
            let second = try await server.sessionInReview(workflow, vendorData: "customer-2")
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                try await browser.signIn("rita@example.com")
                var token = try #require(try await browser.pageToken())
                // Live is empty; the sessions are in sandbox.
                #expect(!(try await browser.get("/console/queue").text.contains(first.id)))
                _ = try await browser.post("/console/environment", [("environment", "sandbox")], csrf: token)
                let queue = try await browser.get("/console/queue")
                let firstAt = try #require(queue.text.range(of: first.id)), secondAt = try #require(queue.text.range(of: second.id))
                #expect(firstAt.lowerBound < secondAt.lowerBound, "oldest first")
                token = try #require(ConsoleBrowser.csrf(in: queue.text))

                #expect(try await browser.post("/console/sessions/\(first.id)/assign", [("to", "me"), ("back", "/console/queue")], csrf: token).status == .seeOther)
                let mine = try await browser.get("/console/queue?assignee=me")
                #expect(mine.text.contains(first.id) && !mine.text.contains(second.id))
                let unassigned = try await browser.get("/console/queue?assignee=unassigned")
                #expect(!unassigned.text.contains(first.id) && unassigned.text.contains(second.id))
                // A colleague sees whose it is, and a "Take over" rather than "Assign to me".
                try await server.consoleUser("sam@example.com", roles: [.reviewer])
                let sam = ConsoleBrowser(client)
                try await sam.signIn("sam@example.com")
                _ = try await sam.post("/console/environment", [("environment", "sandbox")], csrf: try #require(try await sam.pageToken()))
                let seen = try await sam.get("/console/queue")
                #expect(seen.text.contains("rita@example.com") && seen.text.contains("Take over"))

                let page = try await browser.get("/console/sessions/\(first.id)")
                #expect(page.status == .ok)
                #expect(page.text.contains("García"), "decrypted personal data on the page")
                #expect(page.text.contains("feature_aml"))

                let approve = try await browser.post(
                    "/console/sessions/\(first.id)/decision", [("action", "approve"), ("comment", "AML hit is a namesake")], csrf: token)
                #expect(approve.status == .seeOther)
                #expect(approve.headers[.location] == "/console/sessions/\(first.id)?notice=approved")

                let resubmit = try await browser.post(
                    "/console/sessions/\(second.id)/decision",
                    [("action", "resubmit"), ("nodes", "feature_ocr"), ("nodes", "feature_liveness"), ("comment", "blurred photo")],
                    csrf: token)
                #expect(resubmit.status == .seeOther)
            }
            let approved = try #require(try await server.store.sessions.find(id: first.id, environment: .sandbox))
            #expect(approved.status == .approved)
            let reviews = try await server.store.sessions.reviews(sessionID: first.id)
            #expect(reviews.last?.actor == "console:\(rita.id)")
            #expect(reviews.last?.comment == "AML hit is a namesake")
            let (_, trail) = try await server.store.audit.entries(subjectID: first.id, limit: 50, offset: 0)
            #expect(trail.contains { $0.action == "session.status_changed" && $0.actor == "console:\(rita.id)" && $0.after?["status"] == "Approved" })
            #expect(trail.contains { $0.action == "session.personal_data_viewed" && $0.actor == "console:\(rita.id)" })
            #expect(trail.contains { $0.action == "session.assigned" && $0.actor == "console:\(rita.id)" })
            let (_, outbox) = try await server.store.audit.entries(subjectID: second.id, limit: 50, offset: 0)
            #expect(outbox.contains { $0.action == "session.status_changed" && $0.after?["status"] == "Resubmitted" })
            let resubmitted = try #require(try await server.store.sessions.find(id: second.id, environment: .sandbox))
            #expect(resubmitted.status == .resubmitted)
            #expect(Set(resubmitted.resubmit.nodes) == ["feature_ocr", "feature_liveness"])
        }
    }

    /// With "email the person" the first press shows the email and changes
    /// nothing; confirming with the preview's token makes the change and
    /// queues that email; a token for another email is refused.
    @Test func anEmailIsPreviewedBeforeTheChangeIsMade() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            let workflow = try await server.workflow([.ocr, .liveness, .faceMatch, .aml])
            let session = try await server.sessionInReview(workflow)
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                try await browser.signIn("rita@example.com")
                _ = try await browser.post("/console/environment", [("environment", "sandbox")], csrf: try #require(try await browser.pageToken()))
                let token = try #require(try await browser.pageToken())
                let fields = [
                    ("action", "resubmit"), ("nodes", "feature_ocr"), ("nodes", "feature_liveness"), ("send_email", "1"),
                    ("email_language", "de"), ("comment", "blurred photo"),
                ]
                let preview = try await browser.post("/console/sessions/\(session.id)/decision", fields, csrf: token)
                #expect(preview.status == .ok)
                #expect(preview.text.contains("id=\"email-preview\""))
                #expect(preview.text.contains("ana@example.com"), "the recipient, from the contact details")
                #expect(preview.text.contains("Hallo Ana"), "the German text as it will be sent")
                #expect(try await server.store.sessions.find(id: session.id, environment: .sandbox)?.status == .inReview)
                #expect(try await server.store.emails.emails(sessionID: session.id).isEmpty)

                let stale = try await browser.post(
                    "/console/sessions/\(session.id)/decision", fields + [("preview_token", "not-the-token")], csrf: token)
                #expect(stale.status == .badRequest)
                #expect(try await server.store.sessions.find(id: session.id, environment: .sandbox)?.status == .inReview)

                let range = try #require(preview.text.range(of: #"name="preview_token" value=""#))
                let previewToken = String(preview.text[range.upperBound...].prefix { $0 != "\"" })
                let confirmed = try await browser.post(
                    "/console/sessions/\(session.id)/decision", fields + [("preview_token", previewToken)], csrf: token)
                #expect(confirmed.status == .seeOther)
            }
            #expect(try await server.store.sessions.find(id: session.id, environment: .sandbox)?.status == .resubmitted)
            #expect(try await server.store.emails.emails(sessionID: session.id).count == 1)
        }
    }

    @Test func fourEyesNeedsASecondReviewer() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            let sam = try await server.consoleUser("sam@example.com", roles: [.reviewer])
            var settings = WorkflowSettings()
            settings.fourEyes = true
            let workflow = try await server.workflow([.ocr, .aml], settings: settings)
            let session = try await server.sessionInReview(workflow)
            try await server.test(.live) { client in
                let rita = ConsoleBrowser(client)
                try await rita.signIn("rita@example.com")
                var token = try #require(try await rita.pageToken())
                _ = try await rita.post("/console/environment", [("environment", "sandbox")], csrf: token)
                token = try #require(try await rita.pageToken())
                let first = try await rita.post("/console/sessions/\(session.id)/decision", [("action", "approve"), ("comment", "looks fine")], csrf: token)
                #expect(first.headers[.location]?.hasSuffix("notice=first-approval") == true)
                #expect(try await server.store.sessions.find(id: session.id, environment: .sandbox)?.status == .inReview)
                let again = try await rita.post("/console/sessions/\(session.id)/decision", [("action", "approve")], csrf: token)
                #expect(again.status == .badRequest)
                #expect(again.text.contains("different reviewer must confirm"))
                #expect(try await server.store.sessions.find(id: session.id, environment: .sandbox)?.status == .inReview)

                let other = ConsoleBrowser(client)
                try await other.signIn("sam@example.com")
                var samToken = try #require(try await other.pageToken())
                _ = try await other.post("/console/environment", [("environment", "sandbox")], csrf: samToken)
                samToken = try #require(try await other.pageToken())
                #expect(try await other.get("/console/sessions/\(session.id)").text.contains("Confirm approval"))
                let confirm = try await other.post("/console/sessions/\(session.id)/decision", [("action", "approve")], csrf: samToken)
                #expect(confirm.headers[.location]?.hasSuffix("notice=approved") == true)
            }
            #expect(try await server.store.sessions.find(id: session.id, environment: .sandbox)?.status == .approved)
            let last = try #require(try await server.store.sessions.reviews(sessionID: session.id).last)
            #expect(last.actor == "console:\(sam.id)")
            #expect(last.comment?.contains("first approval by rita@example.com") == true)
        }
    }

    @Test func badInputShowsTheFormAgainNeverA500() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            let workflow = try await server.workflow([.ocr, .liveness, .aml])
            let session = try await server.sessionInReview(workflow)
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                try await browser.signIn("rita@example.com")
                var token = try #require(try await browser.pageToken())
                _ = try await browser.post("/console/environment", [("environment", "sandbox")], csrf: token)
                token = try #require(try await browser.pageToken())
                let path = "/console/sessions/\(session.id)/decision"
                let cases: [([(String, String)], String)] = [
                    ([], "Choose Approve"),
                    ([("action", "explode")], "Choose Approve"),
                    ([("action", "decline")], "Give a reason when declining"),
                    ([("action", "resubmit")], "Choose at least one step"),
                    ([("action", "resubmit"), ("nodes", "feature_nope")], "feature_nope"),
                    ([("action", "resubmit"), ("nodes", "feature_ocr"), ("email_language", "xx")], "not a language"),
                    ([("action", "approve"), ("send_email", "1")], ""),
                ]
                for (fields, message) in cases.dropLast() {
                    let response = try await browser.post(path, fields, csrf: token)
                    #expect(response.status == .badRequest, "\(fields)")
                    #expect(response.text.contains(message), "\(fields)")
                    #expect(response.text.contains("id=\"decision-form\""), "the form is shown again")
                }
                #expect(try await browser.get("/console/sessions/not-a-uuid").status == .badRequest)
                #expect(try await browser.get("/console/sessions/\(UUID().uuidString)").status == .notFound)
                #expect(try await browser.post("/console/sessions/\(UUID().uuidString)/decision", [("action", "approve")], csrf: token).status == .notFound)
                #expect(try await browser.post("/console/environment", [("environment", "mars")], csrf: token).status == .badRequest)
                #expect(try await browser.get("/console/queue?page=-4&country=%FF").status == .ok)
                let huge = try await browser.post(path, [("action", "approve"), ("comment", String(repeating: "x", count: 2 << 20))], csrf: token)
                #expect(huge.status == .contentTooLarge)
            }
            #expect(try await server.store.sessions.find(id: session.id, environment: .sandbox)?.status == .inReview)
        }
    }

    @Test func failedDeliveriesAreListedAndResentThroughTheAPIsFunction() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            let rita = try await server.consoleUser("rita@example.com", roles: [.reviewer])
            let destination = try await WebhookDestinationService(store: server.store).create(
                label: "partner", url: "https://93.184.216.34/hook", enabled: true, events: [.statusUpdated],
                principal: TestServer.principal(.sandbox), requestID: nil, now: Date())
            let workflow = try await server.workflow([.ocr, .aml])
            let session = try await server.sessionInReview(workflow)
            // The worker gives up on every delivery (as after its last retry, or a 410).
            let claimed = try await server.store.deliveries.claim(now: Date(), lease: 60, limit: 50)
            #expect(!claimed.isEmpty)
            for delivery in claimed {
                try await server.store.deliveries.settle(delivery, outcome: .failed(statusCode: 500, error: "receiver broke"), now: Date())
            }
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                try await browser.signIn("rita@example.com")
                let live = try await browser.get("/console/deliveries")
                #expect(live.status == .ok && live.text.contains("No failed deliveries"), "the failures are in sandbox")
                let token = try #require(ConsoleBrowser.csrf(in: live.text))
                _ = try await browser.post("/console/environment", [("environment", "sandbox")], csrf: token)
                let page = try await browser.get("/console/deliveries")
                #expect(page.text.contains("receiver broke") && page.text.contains(session.id))
                let resend = try await browser.post("/console/deliveries/\(claimed[0].id)/resend", [], csrf: token)
                #expect(resend.status == .seeOther)
                #expect(try await browser.post("/console/deliveries/\(UUID().uuidString)/resend", [], csrf: token).status == .notFound)

                let audit = try await browser.get("/console/audit?subject_id=\(session.id)")
                #expect(audit.status == .ok)
                #expect(audit.text.contains("session.created") && audit.text.contains("session.status_changed"))
            }
            let (_, log) = try await server.store.deliveries.log(deliveryID: claimed[0].id, limit: 1, offset: 0)
            #expect(log.first?.status == "pending")
            #expect(log.first?.destinationID == destination.id)
            let (_, trail) = try await server.store.audit.entries(subjectID: claimed[0].id, limit: 10, offset: 0)
            #expect(trail.contains { $0.action == "webhook_delivery.resent" && $0.actor == "console:\(rita.id)" })
        }
    }

    @Test func anAPIKeyDoesNotOpenTheConsole() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            try await server.test(.live) { client in
                for path in ["/console/queue", "/console/keys", "/console/audit"] {
                    let response = try await client.execute(uri: path, method: .get, headers: headers(key: server.adminKey))
                    #expect(response.status == .seeOther, "\(path)")
                    #expect(response.headers[.location]?.hasPrefix("/console/login") == true)
                }
                let post = try await client.execute(
                    uri: "/console/keys", method: .post, headers: headers(key: server.adminKey, ["content-type": "application/x-www-form-urlencoded"]),
                    body: body("name=x&environment=live&privileges=read%3Aaudit"))
                #expect(post.status == .seeOther)
            }
            #expect(try await server.store.apiKeys.list().count == 1)
        }
    }

    @Test func administratorsManageUsersInTheConsole() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            let ada = try await server.consoleUser("ada@example.com", roles: [.admin])
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            try await server.test(.live) { client in
                let rita = ConsoleBrowser(client)
                try await rita.signIn("rita@example.com")
                #expect(try await rita.get("/console/users").status == .forbidden)

                let admin = ConsoleBrowser(client)
                try await admin.signIn("ada@example.com")
                let page = try await admin.get("/console/users")
                #expect(page.status == .ok && page.text.contains("rita@example.com"))
                #expect(!page.text.contains("$2"), "no password hash on the page")
                let token = try #require(ConsoleBrowser.csrf(in: page.text))
                let short = try await admin.post(
                    "/console/users", [("email", "new@example.com"), ("password", "short"), ("roles", "reviewer")], csrf: token)
                #expect(short.status == .badRequest && short.text.contains("at least 12"))
                #expect(short.text.contains("value=\"new@example.com\""), "the form keeps what was typed")
                let created = try await admin.post(
                    "/console/users", [("email", "new@example.com"), ("password", "a long enough password"), ("roles", "reviewer")],
                    csrf: token)
                #expect(created.status == .created)
                let newcomer = ConsoleBrowser(client)
                #expect(try await newcomer.signIn("new@example.com", password: "a long enough password").status == .seeOther)

                // Locked out by five failures, unlocked by an administrator.
                for _ in 0..<5 { _ = try await rita.signIn("rita@example.com", password: "nope nope nope") }
                #expect(try await rita.signIn("rita@example.com").status == .tooManyRequests)
                let user = try #require(try await ConsoleUserRepository(database: server.store.database).find(email: "rita@example.com"))
                #expect(try await admin.post("/console/users/\(user.id)", [("action", "unlock")], csrf: token).status == .seeOther)
                #expect(try await rita.signIn("rita@example.com").status == .seeOther)
                #expect(try await admin.post("/console/users/\(user.id)", [("action", "disable")], csrf: token).status == .seeOther)
                #expect(try await rita.get("/console/queue").status == .seeOther, "disabling ends the session")
                #expect(try await admin.post("/console/users/\(ada.id)", [("action", "disable")], csrf: token).status == .badRequest)
                #expect(try await admin.post("/console/users/\(UUID().uuidString)", [("action", "unlock")], csrf: token).status == .notFound)
                #expect(try await admin.get("/console/no-such-page").status == .notFound)
            }
            let (_, trail) = try await server.store.audit.entries(subjectID: nil, limit: 200, offset: 0)
            #expect(trail.contains { $0.action == "console_user.created" && $0.actor == "console:\(ada.id)" })
            #expect(trail.contains { $0.action == "console_user.unlocked" && $0.actor == "console:\(ada.id)" })
            #expect(trail.contains { $0.action == "console_user.disabled" && $0.actor == "console:\(ada.id)" })
        }
    }

    @Test func theQueueMarksSessionsPastTheSLAAndFilters() async throws {
        let clock = MovableClock()
        var configuration = ServerConfiguration.consoleTest()
        configuration.reviewSLAHours = 4
        try await TestServer.with(configuration: configuration, clock: clock.serverClock) { server in
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            let kyc = try await server.workflow([.ocr, .aml], name: "retail")
            let other = try await server.workflow([.ocr, .liveness, .aml], name: "premium")
            let retail = try await server.sessionInReview(kyc, vendorData: "retail-1")
            let premium = try await server.sessionInReview(other, vendorData: "premium-1")
            try await server.test(.live) { client in
                let browser = ConsoleBrowser(client)
                try await browser.signIn("rita@example.com")
                let token = try #require(try await browser.pageToken())
                _ = try await browser.post("/console/environment", [("environment", "sandbox")], csrf: token)
                let fresh = try await browser.get("/console/queue")
                #expect(fresh.text.contains(retail.id) && fresh.text.contains(premium.id))
                #expect(!fresh.text.contains("Overdue"))
                #expect(fresh.text.contains("overdue after 4 h"))

                let filtered = try await browser.get("/console/queue?workflow=\(other.id)")
                #expect(filtered.text.contains(premium.id) && !filtered.text.contains(retail.id))
                #expect(try await browser.get("/console/queue?country=FRA").text.contains("Nothing waiting"))
                #expect(try await browser.get("/console/queue?country=esp").text.contains(retail.id), "the sandbox OCR says ESP")

                for _ in 0..<4 {  // 3 h 20 min, never idle for an hour
                    clock.advance(50 * 60)
                    #expect(try await browser.get("/console/queue").status == .ok)
                }
                clock.advance(39 * 60)
                #expect(!(try await browser.get("/console/queue").text.contains(">Overdue<")))
                clock.advance(2 * 60)
                let late = try await browser.get("/console/queue")
                #expect(late.text.contains(">Overdue<"))
                #expect(late.text.contains("2 overdue on this page"))
            }
        }
    }

    @Test func kycVersionsAreReviewedThroughTheAPIsFunction() async throws {
        try await TestServer.with(configuration: .consoleTest()) { server in
            let kim = try await server.consoleUser("kim@example.com", roles: [.claimIssuer])
            try await server.consoleUser("rita@example.com", roles: [.reviewer])
            let service = KYCService(store: server.store)
            let integration = TestServer.principal(.live)
            let user = try await service.createUser(.init(email: "lea@example.com"), principal: integration, requestID: nil, now: Date())
            let draft = try await service.createVersion(
                userID: user.id, overwriteDraft: false,
                initialData: [.firstName: "Léa", .lastName: "Martin", .dob: "1990-01-31", .country: "FR",
                              .residencyStatus: "resident", .nationalId: "FR123456"],
                principal: integration, requestID: nil, now: Date())
            let version = try await service.submit(versionID: draft.id, principal: integration, requestID: nil, now: Date())
            #expect(version.status == .underReview)
            try await server.test(.live) { client in
                let reviewer = ConsoleBrowser(client)
                try await reviewer.signIn("rita@example.com")
                #expect(try await reviewer.get("/console/kyc").status == .forbidden)
                #expect(try await reviewer.get("/console/kyc/versions/\(version.id)").status == .forbidden)

                let browser = ConsoleBrowser(client)
                try await browser.signIn("kim@example.com")
                let queue = try await browser.get("/console/kyc")
                #expect(queue.status == .ok && queue.text.contains(version.id))
                // Assign to me: the queue names the assignee and filters by it.
                let assigned = try await browser.post(
                    "/console/kyc/versions/\(version.id)/assign", [("to", "me"), ("back", "/console/kyc?assignee=anyone")],
                    csrf: try #require(ConsoleBrowser.csrf(in: queue.text)))
                #expect(assigned.status == .seeOther)
                let mine = try await browser.get("/console/kyc?assignee=me")
                #expect(mine.text.contains(version.id) && mine.text.contains("kim@example.com") && mine.text.contains("Release"))
                #expect(!(try await browser.get("/console/kyc?assignee=unassigned").text.contains(version.id)))
                #expect(try await reviewer.post(
                    "/console/kyc/versions/\(version.id)/assign", [("to", "me")], csrf: try #require(try await reviewer.pageToken())
                ).status == .forbidden, "a reviewer without a KYC role cannot take it")
                let (_, trail) = try await server.store.audit.entries(subjectID: version.id, limit: 50, offset: 0)
                #expect(trail.contains { $0.action == "kyc_version.assigned" && $0.actor == "console:\(kim.id)" })
                let page = try await browser.get("/console/kyc/versions/\(version.id)")
                #expect(page.status == .ok && page.text.contains("Léa") && page.text.contains("FR123456"))
                let token = try #require(ConsoleBrowser.csrf(in: page.text))
                let path = "/console/kyc/versions/\(version.id)/review"

                let short = try await browser.post(path, [("action", "reject"), ("rejection_reason", "too short")], csrf: token)
                #expect(short.status == .badRequest)
                #expect(short.text.contains("Rejection reason: Must be at least 10 characters"))
                #expect(short.text.contains("too short"), "the form keeps what was typed")
                let pastDue = try await browser.post(
                    path, [("action", "request_update"), ("reason", "Please upload a clearer passport"), ("due_at", "2001-01-01")], csrf: token)
                #expect(pastDue.status == .badRequest && pastDue.text.contains("Due date"))
                #expect(try await server.store.kyc.version(id: version.id)?.0.status == .underReview, "refusals change nothing")

                let rejected = try await browser.post(
                    path, [("action", "reject"), ("rejection_reason", "The passport photo is unreadable.")], csrf: token)
                #expect(rejected.status == .seeOther)
                let after = try await browser.get("/console/kyc/versions/\(version.id)")
                #expect(after.text.contains("rejected") && !after.text.contains("id=\"reject-form\""))
                #expect(!(try await browser.get("/console/kyc").text.contains(version.id)), "it left the queue")
                #expect(try await browser.get("/console/kyc/versions/kycv_nope").status == .notFound)
            }
            let stored = try #require(try await server.store.kyc.version(id: version.id)?.0)
            #expect(stored.status == .rejected)
            #expect(stored.reviewedBy == "console:\(kim.id)")
            #expect(stored.rejectionReason == "The passport photo is unreadable.")
            let (_, trail) = try await server.store.audit.entries(subjectID: version.id, limit: 50, offset: 0)
            #expect(trail.contains { $0.action == "kyc_version.personal_data_viewed" && $0.actor == "console:\(kim.id)" })
            #expect(trail.contains { $0.actor == "console:\(kim.id)" && $0.action.contains("reject") })
        }
    }
}
