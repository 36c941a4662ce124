import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import ClearanceServer
import ClearanceTestSupport

extension TestServer {
    /// Runs `body` against this server's router in process.
    func test<T: Sendable>(_ setup: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol) async throws -> T)
        async throws -> T
    {
        let app = Application(router: try buildRouter(environment), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(setup, body)
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
