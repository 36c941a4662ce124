import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import ClearanceServer
import ClearanceTestSupport

extension TestServer {
    /// Runs `body` against this server's router in process, logging at debug
    /// into the capture, with a client that records the secrets it carries.
    func test<T: Sendable>(_ setup: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol) async throws -> T)
        async throws -> T
    {
        let app = Application(
            router: try buildRouter(environment), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: environment.logger)
        let secrets = secrets
        return try await app.test(setup) { client in try await body(SecretRecordingClient(base: client, secrets: secrets)) }
    }
}

/// Passes every request through and records, in the server's
/// `SecretLedger`, the keys, cookies and sensitive body fields going either way.
struct SecretRecordingClient: TestClientProtocol {
    let base: any TestClientProtocol
    let secrets: SecretLedger
    /// Bodies larger than this (oversize-request tests) are not parsed.
    static let largestParsedBody = 2 << 20

    var port: Int? { base.port }

    func executeRequest(uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?) async throws
        -> TestResponse
    {
        if let key = headers[HTTPField.Name("x-api-key")!] { secrets.record(key, as: "api key") }
        if let authorization = headers[.authorization] {
            secrets.record(String(authorization.drop { $0 != " " }), as: "bearer key")
        }
        for cookie in headers[values: .cookie].flatMap({ $0.split(separator: ";") }) {
            secrets.record(String(cookie.drop { $0 != "=" }.dropFirst()), as: "cookie")
        }
        if let body, body.readableBytes <= Self.largestParsedBody {
            if headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
                secrets.recordSensitiveFields(form: String(buffer: body))
            } else {
                secrets.recordSensitiveFields(json: body.readableBytesView)
            }
        }
        let response = try await base.executeRequest(uri: uri, method: method, headers: headers, body: body)
        for cookie in response.headers[values: .setCookie] {
            secrets.record(String(cookie.prefix { $0 != ";" }.drop { $0 != "=" }.dropFirst()), as: "cookie")
        }
        if response.body.readableBytes <= Self.largestParsedBody {
            secrets.recordSensitiveFields(json: response.body.readableBytesView)
        }
        return response
    }
}

extension TestResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }
    var text: String { String(buffer: body) }
}

func headers(key: String? = nil, bearer: String? = nil, _ extra: [String: String] = [:]) -> HTTPFields {
    var fields = HTTPFields()
    if let key { fields[HTTPField.Name("x-api-key")!] = key }
    if let bearer { fields[.authorization] = "Bearer \(bearer)" }
    for (name, value) in extra { fields[HTTPField.Name(name)!] = value }
    return fields
}

func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }
