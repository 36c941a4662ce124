import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import ClearanceDomain
import ClearanceStore

/// Resolves `x-api-key` or `Authorization: Bearer` to a principal; 401 for a
/// missing, unknown, revoked or expired key. Privileges and roles are checked
/// by each route (`context.require(...)`), which knows what it needs.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = ClearanceRequestContext

    static let apiKeyHeader = HTTPField.Name("x-api-key")!

    let keys: any APIKeyRepository
    let clock: ServerClock
    let usage: KeyUsageRecorder
    let principals = KeyPrincipals()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let presented = Self.presentedKey(request.headers) else {
            throw APIError.unauthenticated()
        }
        guard let token = APIKeyToken(text: presented),
            let record = try await keys.find(lookupID: token.lookupID),
            record.environment == token.environment,
            token.matches(storedHash: record.secretHash)
        else {
            throw APIError.unauthenticated("The API key is not valid.")
        }
        let now = clock.now()
        guard record.revokedAt == nil else { throw APIError.unauthenticated("The API key has been revoked.") }
        guard record.isActive(at: now) else { throw APIError.unauthenticated("The API key has expired.") }

        var context = context
        let (principal, actor) = principals.resolve(record)
        context.principal = principal
        context.logger[metadataKey: "actor"] = actor
        await usage.record(keyID: record.id, at: now)
        return try await next(request, context)
    }

    static func presentedKey(_ headers: HTTPFields) -> String? {
        if let value = headers[apiKeyHeader], !value.isEmpty {
            return trimmed(Substring(value))
        }
        if let authorization = headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return trimmed(parts[1])
            }
        }
        return nil
    }

    /// Without spaces and tabs at either end. Not Foundation's
    /// `trimmingCharacters`: it bridged through NSString on every request
    /// (2.5 % of a status change's server time, measured with perf).
    static func trimmed(_ text: Substring) -> String {
        let utf8 = text.utf8
        let isBlank = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = utf8.firstIndex(where: { !isBlank($0) }) else { return "" }
        let last = utf8.lastIndex(where: { !isBlank($0) })!
        return String(text[first...last])
    }
}

/// The principal (and log actor) of each key, built once per version of its
/// record rather than on every request (two sets and a string). Holds no
/// secret: keyed by the key's id, reused only while the record read for the
/// request equals the one it was built from.
final class KeyPrincipals: Sendable {
    private let built = NIOLockedValueBox<[String: (record: APIKeyRecord, principal: Principal, actor: Logger.MetadataValue)]>([:])

    func resolve(_ record: APIKeyRecord) -> (Principal, Logger.MetadataValue) {
        if let hit = built.withLockedValue({ $0[record.id] }), hit.record == record { return (hit.principal, hit.actor) }
        let principal = Principal(
            id: record.id, name: record.name, environment: record.environment,
            privileges: Set(record.privileges), roles: Set(record.roles))
        let actor = Logger.MetadataValue.string("key:\(record.id)")
        built.withLockedValue { built in
            if built.count > 10_000 { built.removeAll() }
            built[record.id] = (record, principal, actor)
        }
        return (principal, actor)
    }
}

/// Writes `last_used_at` at most once a minute per key, so that reads do
/// not each become a write (SQLite has one writer).
final class KeyUsageRecorder: Sendable {
    private let keys: any APIKeyRepository
    private let interval: TimeInterval
    private let lastWritten = NIOLockedValueBox<[String: Date]>([:])

    init(keys: any APIKeyRepository, interval: TimeInterval = 60) {
        self.keys = keys
        self.interval = interval
    }

    func record(keyID: String, at now: Date) async {
        let due = lastWritten.withLockedValue { written -> Bool in
            if let last = written[keyID], now.timeIntervalSince(last) < interval { return false }
            written[keyID] = now
            return true
        }
        guard due else { return }
        // A failed bookkeeping write must not fail the request.
        try? await keys.recordUse(id: keyID, at: now)
    }
}

/// The server's notion of now; tests move it.
public struct ServerClock: Sendable {
    public var now: @Sendable () -> Date
    public init(now: @escaping @Sendable () -> Date) { self.now = now }
    /// Wall time cut to whole milliseconds, the precision stored, so an
    /// answer shows the same instant a later read does.
    public static let system = ServerClock { Timestamp.date(milliseconds: Timestamp.milliseconds(Date())) }
}
