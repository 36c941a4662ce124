import Foundation
import Hummingbird
import ClearanceDomain

extension Request {
    /// Reads the whole body (413 past the limit) and decodes it as JSON
    /// `T`, turning every decoding failure into a 400 that names the field.
    public mutating func decodeJSON<T: Decodable>(_ type: T.Type, context: ClearanceRequestContext) async throws -> T {
        let buffer = try await collectBodyOr413(context: context)
        let bytes = Data(buffer: buffer)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw APIError.validation(path: "body", "A JSON object body is required.")
        }
        // Strict RFC 8259 first: Foundation's decoder lets some malformed
        // JSON through (raw control characters in strings).
        guard let parsed = JSONValue(parsing: String(decoding: bytes, as: UTF8.self)) else {
            throw APIError.validation(path: "body", "Malformed JSON: the body is not valid JSON.")
        }
        if let direct = T.self as? any DirectJSONDecodable.Type, case .object(let members) = parsed,
            let value = direct.init(directJSON: members)
        {
            return value as! T
        }
        do {
            return try JSONDecoder().decode(T.self, from: bytes)
        } catch let error as DecodingError {
            throw DecodingErrorMapping.apiError(error)
        } catch let error as APIError {
            throw error
        } catch let failure as ValidationFailure {
            throw failure.apiError
        }
    }

    /// The body as a `JSONValue`, parsed once by the strict parser (no
    /// second pass through Foundation's decoder: for large bodies such as
    /// base64 uploads). 400 naming the body when it is not a JSON object.
    public mutating func decodeJSONObject(context: ClearanceRequestContext) async throws -> [String: JSONValue] {
        let buffer = try await collectBodyOr413(context: context)
        guard case .object(let members)? = JSONValue(parsing: String(decoding: buffer.readableBytesView, as: UTF8.self)) else {
            throw APIError.validation(path: "body", "Malformed JSON: the body is not a JSON object.")
        }
        return members
    }

    public mutating func collectBodyOr413(context: ClearanceRequestContext) async throws -> ByteBuffer {
        do {
            return try await collectBody(upTo: context.bodyLimit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge(limit: context.bodyLimit)
        }
    }
}

/// A body type read straight from the strictly parsed JSON when it has the
/// plain shape most requests send; nil for anything else, which then goes
/// through `JSONDecoder` as before, so every error (and its message naming
/// the field) still comes from there. Why: the second pass through
/// `JSONDecoder` was the largest part of handling a status change outside
/// the database (status changes a second, side by side: a prototype +7 %,
/// this form +3 %; `docs/reliability.md`).
protocol DirectJSONDecodable: Decodable {
    init?(directJSON members: [String: JSONValue])
}

/// Turns Swift's decoding errors into field-level messages.
enum DecodingErrorMapping {
    static func apiError(_ error: DecodingError) -> APIError {
        switch error {
        case .keyNotFound(let key, let context):
            return .validation(path: path(context.codingPath + [key]), "This field is required.")
        case .valueNotFound(_, let context):
            return .validation(path: path(context.codingPath), "This field may not be null.")
        case .typeMismatch(let type, let context):
            return .validation(path: path(context.codingPath), "Expected \(describe(type)).")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return .validation(path: "body", "Malformed JSON: the body is not valid JSON.")
            }
            return .validation(path: path(context.codingPath), context.debugDescription)
        @unknown default:
            return .validation(path: "body", "The body could not be read.")
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        var out = ""
        for key in codingPath {
            if let index = key.intValue {
                out += "[\(index)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out.isEmpty ? "body" : out
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        default:
            String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }
}
