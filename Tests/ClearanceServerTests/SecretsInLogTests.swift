import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing
import ClearanceTestSupport

/// The check every `TestServer.with` makes at its end (`SecretLedger`,
/// `LogCapture`), shown to fail when a secret or personal data is logged.
@Suite("No secrets in logs")
struct SecretsInLogTests {
    @Test func aPersonalFieldSentInABodyAndThenLoggedFailsTheTest() async throws {
        let error = await #expect(throws: SecretsInLog.self) {
            try await TestServer.with { server in
                try await server.test { client in
                    let created = try await client.execute(
                        uri: "/api/v2/users", method: .post, headers: headers(bearer: server.adminKey),
                        body: body(#"{"email":"leaky@example.com","firstName":"Leonora"}"#))
                    #expect(created.status == .created)
                }
                // Any logger, not only the server's: the whole process is captured.
                Logger(label: "elsewhere").debug("greeting Leonora")
            }
        }
        #expect(error?.leaks.count == 1 && error?.description.contains("firstName") == true)
        #expect(error?.description.contains("Leonora") == false, "the failure message masks the value")
    }

    @Test func aKeyInTheServersOwnLogFailsTheTest() async throws {
        await #expect(throws: SecretsInLog.self) {
            try await TestServer.with { server in
                server.environment.logger.trace("presented", metadata: ["key": "\(server.adminKey)"])
            }
        }
    }

    @Test func lookAlikesShorterThanTheMinimumAreNotRecorded() {
        let ledger = SecretLedger()
        ledger.recordSensitiveFields(json: Array(#"{"firstName":"Ada","country":"GB","nationalId":"QQ123456C","lastName":"Zoë"}"#.utf8))
        #expect(ledger.count == 2)
        #expect(ledger.leaks(in: ["id kycv_01 Ada GB"]) == [])
        #expect(ledger.leaks(in: ["national id QQ123456C"]).count == 1)
    }
}
