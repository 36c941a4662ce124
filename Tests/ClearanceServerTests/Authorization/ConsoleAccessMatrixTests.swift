import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceTestSupport

/// The console's routes are not in the document; they are read from the
/// router, so a page added later is covered too.
@Suite("Authorization matrix, reviewer console")
struct ConsoleAccessMatrixTests {
    @Test func consolePagesNeedASignedInPersonAndAnAPIKeyOpensNone() async throws {
        try await TestServer.with { server in
            let routes = try buildRouter(server.environment).routes
                .filter { $0.path.description.split(separator: "/").first == "console" }
                .map { "\($0.method.rawValue) \($0.path.description.hasPrefix("/") ? "" : "/")\($0.path.description)" }
            #expect(AuthorizationTable.consoleOpen.subtracting(routes).sorted() == [], "open console routes that do not exist")
            let query = try await DatabaseFingerprint.Query.prepare(server.store.database)
            let before = try await server.fingerprint(query)
            try await server.test { client in
                for route in routes {
                    let parts = route.split(separator: " ", maxSplits: 1).map(String.init)
                    let path = parts[1].split(separator: "/").map { part -> String in
                        if part == "**" { return "anything" }
                        return part.hasPrefix(":") ? UUID().uuidString.lowercased() : String(part)
                    }.joined(separator: "/")
                    let method = HTTPRequest.Method(parts[0])!
                    var fields = headers(key: server.adminKey, bearer: server.adminKey)
                    fields[.contentType] = "application/x-www-form-urlencoded"
                    let response = try await client.execute(uri: "/" + path, method: method, headers: fields, body: body(""))
                    if AuthorizationTable.consoleOpen.contains(route) {
                        // Open: answered, not sent to sign in (a sign-in form without its token is refused on its own terms).
                        #expect(response.status != .seeOther && response.status.code < 500, "\(route): \(response.status)")
                        if method == .get { #expect(response.status == .ok, "\(route)") }
                    } else {
                        #expect(response.status == .seeOther, "\(route): \(response.status)")
                        #expect(response.headers[.location]?.hasPrefix("/console/login") == true, "\(route)")
                    }
                }
            }
            let after = try await server.fingerprint(query)
            #expect(after.changes(since: before) == [], "a console request without a signed-in person wrote")
            #expect(routes.count >= 20)
        }
    }
}
