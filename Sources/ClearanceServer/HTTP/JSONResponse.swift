import ClearanceDomain
import ClearanceStore
import Foundation
import Hummingbird
import SQLKit

/// Responses are JSON with stable key order, so bodies are comparable and
/// idempotent replays are byte-identical.
enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A JSON value is written by its own canonical writer (compact, keys
    /// sorted, as the encoder above would): cheaper than `JSONEncoder`.
    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: value.canonicalBytes)))
    }

    static let contentType = "application/json; charset=utf-8"

    /// Renders a route's answer, `make(render(value), status:)`, also inside
    /// the transaction that makes its change and returns `value`, when the
    /// request carries an `Idempotency-Key`: the answer then commits with
    /// the change, and a retry after a crash replays it exactly.
    static func storeWithChange<Value: Sendable>(
        status: HTTPResponse.Status = .ok, _ render: @escaping @Sendable (Value, any SQLDatabase) async throws -> JSONValue
    ) {
        IdempotencyScope.current?.answer { (value: Value, sql) in
            StoredResponse(
                status: Int(status.code), contentType: contentType, body: Data(try await render(value, sql).canonicalBytes))
        }
    }

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: contentType],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The `/v3/` list shape: `{count, next, previous, results}` with absolute
/// `next`/`previous` URLs.
struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    var count: Int
    var next: String?
    var previous: String?
    var results: [Item]

    enum CodingKeys: String, CodingKey { case count, next, previous, results }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        try container.encode(next, forKey: .next)
        try container.encode(previous, forKey: .previous)
        try container.encode(results, forKey: .results)
    }

    /// Builds `next`/`previous` from the request's own query with
    /// `offset` replaced.
    init(count: Int, results: [Item], limit: Int, offset: Int, request: Request, publicURL: String) {
        self.count = count
        self.results = results
        func link(_ newOffset: Int) -> String {
            var components = URLComponents()
            var items = (URLComponents(string: request.uri.description)?.queryItems ?? [])
                .filter { $0.name != "offset" && $0.name != "limit" }
            items.append(URLQueryItem(name: "limit", value: String(limit)))
            items.append(URLQueryItem(name: "offset", value: String(newOffset)))
            components.queryItems = items
            return publicURL + request.uri.path + "?" + (components.percentEncodedQuery ?? "")
        }
        self.next = offset + results.count < count ? link(offset + limit) : nil
        self.previous = offset > 0 ? link(max(0, offset - limit)) : nil
    }
}

/// Reads `limit` and `offset` from the query with their bounds, 400 naming
/// the parameter otherwise.
struct Pagination {
    var limit: Int
    var offset: Int

    init(_ request: Request, defaultLimit: Int = 20, maxLimit: Int = 100) throws {
        let query = Query(request)
        limit = defaultLimit
        offset = 0
        if let text = query.get("limit") {
            guard let value = Int(text), (1...maxLimit).contains(value) else {
                throw APIError.validation(path: "limit", "Must be an integer from 1 to \(maxLimit).")
            }
            limit = value
        }
        if let text = query.get("offset") {
            guard let value = Int(text), value >= 0 else {
                throw APIError.validation(path: "offset", "Must be a non-negative integer.")
            }
            offset = value
        }
    }
}
