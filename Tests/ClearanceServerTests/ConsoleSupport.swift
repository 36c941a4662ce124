import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import ClearanceDomain
import ClearanceServer
import ClearanceStore
import ClearanceTestSupport

/// A clock the console tests move forward (expiry, lock-out).
final class MovableClock: @unchecked Sendable {
    private let lock = NSLock()
    private var offset: TimeInterval = 0

    func advance(_ seconds: TimeInterval) { lock.withLock { offset += seconds } }

    var serverClock: ServerClock {
        ServerClock { [self] in
            Timestamp.date(milliseconds: Timestamp.milliseconds(Date().addingTimeInterval(self.lock.withLock { self.offset })))
        }
    }
}

extension ServerConfiguration {
    /// A cheap bcrypt cost so sign-ins in tests stay fast; everything else as shipped.
    static func consoleTest(publicURL: String = "http://clearance.test") -> ServerConfiguration {
        var configuration = ServerConfiguration(port: 0, publicURL: publicURL)
        configuration.consolePolicy = ConsolePolicy(bcryptCost: 4)
        return configuration
    }
}

extension TestServer {
    static let consolePassword = "correct horse battery"

    @discardableResult
    func consoleUser(_ email: String, roles: [ConsoleRole]) async throws -> ConsoleUserRecord {
        secrets.record(Self.consolePassword, as: "console password")
        return try await ConsoleAccountService(store: store, policy: environment.configuration.consolePolicy).create(
            email: email, displayName: nil, password: Self.consolePassword, roles: roles, actor: "test", now: Date())
    }

    /// A sandbox session the scenario puts `In Review` (an AML possible match).
    func sessionInReview(_ workflow: Workflow, vendorData: String = "customer-1") async throws -> SessionRecord {
        try await SessionService(store: store).create(
            .init(
                workflowID: workflow.id, vendorData: vendorData,
                personal: .init(
                    contactDetails: ["email": "ana@example.com"],
                    expectedDetails: ["first_name": "Ana", "last_name": "García", "date_of_birth": "1990-04-02"]),
                sandboxScenario: .reviewAMLPossibleMatch),
            principal: TestServer.principal(.sandbox), requestID: nil, now: Date())
    }
}

/// A browser stand-in over real HTTP: keeps cookies, reads form tokens.
final class ConsoleBrowser: @unchecked Sendable {
    let client: any TestClientProtocol
    var cookies: [String: String] = [:]
    var lastSetCookies: [String] = []

    init(_ client: any TestClientProtocol) { self.client = client }

    var cookieHeader: HTTPFields {
        var fields = HTTPFields()
        if !cookies.isEmpty { fields[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        return fields
    }

    private func remember(_ response: TestResponse) {
        lastSetCookies = response.headers[values: .setCookie]
        for header in lastSetCookies {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let name = String(pair[0]), value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
    }

    func get(_ path: String) async throws -> TestResponse {
        let response = try await client.execute(uri: path, method: .get, headers: cookieHeader)
        remember(response)
        return response
    }

    /// Posts a form; `csrf` nil sends none.
    func post(_ path: String, _ fields: [(String, String)], csrf: String?) async throws -> TestResponse {
        var all = fields
        if let csrf { all.append(("_csrf", csrf)) }
        var headers = cookieHeader
        headers[.contentType] = "application/x-www-form-urlencoded"
        let body = all.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        let response = try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
        remember(response)
        return response
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// The `_csrf` value of the first form on a page.
    static func csrf(in html: String) -> String? {
        guard let range = html.range(of: #"name="_csrf" value=""#) else { return nil }
        let rest = html[range.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    /// Signs in; answers the sign-in POST's response.
    @discardableResult
    func signIn(_ email: String, password: String = TestServer.consolePassword) async throws -> TestResponse {
        let page = try await get("/console/login")
        return try await post("/console/login", [("email", email), ("password", password), ("next", "/console/queue")], csrf: Self.csrf(in: page.text))
    }

    /// The CSRF token of the signed-in session, read from a page.
    func pageToken(_ path: String = "/console/queue") async throws -> String? {
        Self.csrf(in: try await get(path).text)
    }
}
