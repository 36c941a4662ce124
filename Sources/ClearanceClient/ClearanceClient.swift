import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A typed client for a running Clearance server. The `clearance` CLI talks
/// to servers through it, as an integration would.
public struct ClearanceClient: Sendable {
    public let baseURL: String
    let apiKey: String?
    let http: HTTPClient
    let timeout: TimeAmount

    public init(baseURL: String, apiKey: String?, http: HTTPClient = .shared, timeout: TimeAmount = .seconds(30)) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.apiKey = apiKey
        self.http = http
        self.timeout = timeout
    }

    // MARK: System

    public func health() async throws -> Health {
        try await send("GET", "/health", authenticated: false)
    }

    // MARK: Keys

    public func createAPIKey(_ body: APIKeyCreate) async throws -> APIKey {
        try await send("POST", "/v3/api-keys/", body: body)
    }

    public func listAPIKeys(limit: Int = 100, offset: Int = 0) async throws -> Page<APIKey> {
        try await send("GET", "/v3/api-keys/", query: ["limit": String(limit), "offset": String(offset)])
    }

    public func revokeAPIKey(id: String) async throws {
        let _: Empty = try await send("DELETE", "/v3/api-keys/\(id)/")
    }

    // MARK: Workflows

    public func createWorkflow(_ body: WorkflowCreate) async throws -> Workflow {
        try await send("POST", "/v3/workflows/", body: body)
    }

    public func listWorkflows(limit: Int = 100, offset: Int = 0) async throws -> Page<Workflow> {
        try await send("GET", "/v3/workflows/", query: ["limit": String(limit), "offset": String(offset)])
    }

    public func workflow(id: String, version: Int? = nil) async throws -> Workflow {
        try await send("GET", "/v3/workflows/\(id)/", query: version.map { ["version": String($0)] } ?? [:])
    }

    // MARK: Sessions

    public func createSession(_ body: SessionCreate) async throws -> Session {
        try await send("POST", "/v3/session/", body: body)
    }

    public func session(id: String) async throws -> Session {
        try await send("GET", "/v3/session/\(id)/")
    }

    /// The decision, as free-form JSON (it has one array per feature).
    public func decision(id: String) async throws -> [String: AnyJSON] {
        try await send("GET", "/v3/session/\(id)/decision/")
    }

    public func listSessions(_ query: [String: String] = [:]) async throws -> Page<SessionListItem> {
        try await send("GET", "/v3/sessions/", query: query)
    }

    public func updateSessionStatus(id: String, _ body: UpdateStatus) async throws -> StatusAnswer {
        try await send("PATCH", "/v3/session/\(id)/update-status/", body: body)
    }

    // MARK: Audit

    public func auditEntries(subjectID: String? = nil, limit: Int = 50, offset: Int = 0) async throws -> Page<AuditEntry> {
        var query = ["limit": String(limit), "offset": String(offset)]
        if let subjectID { query["subject_id"] = subjectID }
        return try await send("GET", "/v3/audit/", query: query)
    }

    // MARK: Transport

    /// Sends a request and decodes a JSON answer, or throws `ClientError`
    /// carrying the server's error body.
    public func send<Response: Decodable>(
        _ method: String, _ path: String, query: [String: String] = [:], body: (some Encodable)? = Empty?.none,
        authenticated: Bool = true, headers: [String: String] = [:]
    ) async throws -> Response {
        var components = URLComponents(string: baseURL + path)!
        if !query.isEmpty {
            components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        }
        var request = HTTPClientRequest(url: components.string!)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "accept", value: "application/json")
        if authenticated, let apiKey { request.headers.add(name: "x-api-key", value: apiKey) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            let data = try JSONEncoder().encode(body)
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        }
        let response = try await http.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            throw ClientError(
                status: Int(response.status.code), body: data,
                requestID: response.headers.first(name: "x-request-id"))
        }
        if Response.self == Empty.self { return Empty() as! Response }
        do {
            return try JSONDecoder().decode(Response.self, from: data)
        } catch {
            throw ClientError(status: Int(response.status.code), body: data, requestID: nil, decoding: "\(error)")
        }
    }
}

/// An answer the client did not accept: the server's status and error body.
public struct ClientError: Error, CustomStringConvertible, Sendable {
    public var status: Int
    public var body: Data
    public var requestID: String?
    public var decoding: String?

    /// The error envelope's fields, in whichever dialect the server used.
    public var code: String? { json?["code"] as? String }
    public var message: String? {
        (json?["detail"] as? String) ?? (json?["message"] as? String)
    }
    public var dalpID: String? { (json?["data"] as? [String: Any])?["id"] as? String }

    private var json: [String: Any]? {
        try? JSONSerialization.jsonObject(with: body) as? [String: Any]
    }

    public var description: String {
        if let decoding { return "unreadable answer (HTTP \(status)): \(decoding)" }
        var parts = ["HTTP \(status)"]
        if let dalpID { parts.append(dalpID) }
        if let code { parts.append(code) }
        var text = parts.joined(separator: " ")
        if let message { text += ": \(message)" }
        if let requestID { text += " (request \(requestID))" }
        return text
    }
}

public struct Empty: Codable, Sendable {
    public init() {}
}
