import Foundation
import NIOConcurrencyHelpers
import SQLKit
import ClearanceDomain

/// A stored API key: everything but the secret, of which only a hash is kept.
public struct APIKeyRecord: Sendable, Equatable {
    public var id: String
    public var lookupID: String
    public var secretHash: String
    public var displayPrefix: String
    public var name: String
    public var environment: KeyEnvironment
    public var privileges: [Privilege]
    public var roles: [Role]
    public var createdAt: Date
    public var createdBy: String?
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    public init(
        id: String, lookupID: String, secretHash: String, displayPrefix: String, name: String,
        environment: KeyEnvironment, privileges: [Privilege], roles: [Role], createdAt: Date, createdBy: String?,
        expiresAt: Date?, revokedAt: Date? = nil, lastUsedAt: Date? = nil
    ) {
        self.id = id
        self.lookupID = lookupID
        self.secretHash = secretHash
        self.displayPrefix = displayPrefix
        self.name = name
        self.environment = environment
        self.privileges = privileges
        self.roles = roles
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }

    /// Usable now: not revoked and not past its expiry.
    public func isActive(at now: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }
}

public protocol APIKeyRepository: Sendable {
    func insert(_ record: APIKeyRecord, on sql: any SQLDatabase) async throws
    func find(lookupID: String) async throws -> APIKeyRecord?
    func find(id: String, on sql: any SQLDatabase) async throws -> APIKeyRecord?
    func list() async throws -> [APIKeyRecord]
    func count(on sql: any SQLDatabase) async throws -> Int
    func revoke(id: String, at: Date, on sql: any SQLDatabase) async throws
    func recordUse(id: String, at: Date) async throws
}

public struct SQLAPIKeyRepository: APIKeyRepository {
    let database: any Database
    /// Keys by lookup id, kept for `cacheLifetime`: every API call
    /// authenticates, and this spares each one a database read. A revocation
    /// in this process clears the entry at once; another process sees it
    /// within `cacheLifetime` (docs/architecture.md).
    private let cache = NIOLockedValueBox<[String: (record: APIKeyRecord?, at: ContinuousClock.Instant)]>([:])
    static let cacheLifetime: Duration = .seconds(1)

    public init(database: any Database) { self.database = database }

    public func insert(_ record: APIKeyRecord, on sql: any SQLDatabase) async throws {
        cache.withLockedValue { _ = $0.removeValue(forKey: record.lookupID) }
        try await sql.insert(into: "api_keys")
            .columns(
                "id", "lookup_id", "secret_hash", "display_prefix", "name", "environment", "privileges", "roles",
                "created_at", "created_by", "expires_at"
            )
            .values(
                SQLBind(record.id), SQLBind(record.lookupID), SQLBind(record.secretHash),
                SQLBind(record.displayPrefix), SQLBind(record.name), SQLBind(record.environment.rawValue),
                SQLBind(Self.encodeList(record.privileges.map(\.rawValue))),
                SQLBind(Self.encodeList(record.roles.map(\.rawValue))),
                SQLBind(Timestamp.milliseconds(record.createdAt)), SQLBind(record.createdBy),
                SQLBind(record.expiresAt.map(Timestamp.milliseconds))
            )
            .run()
    }

    public func find(lookupID: String) async throws -> APIKeyRecord? {
        let now = ContinuousClock.now
        if let cached = cache.withLockedValue({ $0[lookupID] }), now - cached.at < Self.cacheLifetime {
            return cached.record
        }
        let record = try await database.read { sql in
            try await sql.select().column("*").from("api_keys").where("lookup_id", .equal, lookupID)
                .first().map(Self.record)
        }
        cache.withLockedValue { cache in
            // Bounded: unknown lookup ids are cached too (as nil), so a flood
            // of made-up keys cannot grow it without limit.
            if cache.count > 10_000 { cache.removeAll() }
            cache[lookupID] = (record, now)
        }
        return record
    }

    public func find(id: String, on sql: any SQLDatabase) async throws -> APIKeyRecord? {
        try await sql.select().column("*").from("api_keys").where("id", .equal, id).for(.update)
            .first().map(Self.record)
    }

    public func list() async throws -> [APIKeyRecord] {
        try await database.read { sql in
            try await sql.select().column("*").from("api_keys").orderBy("created_at").orderBy("id").all()
                .map(Self.record)
        }
    }

    public func count(on sql: any SQLDatabase) async throws -> Int {
        try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("api_keys")
            .first()?.decode(column: "n", as: Int.self) ?? 0
    }

    public func revoke(id: String, at: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("api_keys").set("revoked_at", to: Timestamp.milliseconds(at))
            .where("id", .equal, id).where("revoked_at", .is, SQLLiteral.null).run()
        cache.withLockedValue { cache in cache = cache.filter { $0.value.record?.id != id } }
    }

    public func recordUse(id: String, at: Date) async throws {
        try await database.transaction { sql in
            try await sql.update("api_keys").set("last_used_at", to: Timestamp.milliseconds(at))
                .where("id", .equal, id).run()
        }
    }

    static func encodeList(_ values: [String]) -> String {
        JSONValue.array(values.map(JSONValue.string)).canonicalText
    }

    static func decodeList(_ text: String) -> [String] {
        guard case .array(let items) = JSONValue(parsing: text) else { return [] }
        return items.compactMap(\.stringValue)
    }

    static func record(_ row: any SQLRow) throws -> APIKeyRecord {
        func date(_ column: String) throws -> Date? {
            try row.decode(column: column, as: Int64?.self).map(Timestamp.date(milliseconds:))
        }
        let environmentText = try row.decode(column: "environment", as: String.self)
        guard let environment = KeyEnvironment(rawValue: environmentText) else {
            throw StoreError.corrupt("api key environment '\(environmentText)'")
        }
        return APIKeyRecord(
            id: try row.decode(column: "id", as: String.self),
            lookupID: try row.decode(column: "lookup_id", as: String.self),
            secretHash: try row.decode(column: "secret_hash", as: String.self),
            displayPrefix: try row.decode(column: "display_prefix", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            environment: environment,
            privileges: decodeList(try row.decode(column: "privileges", as: String.self)).compactMap(Privilege.init),
            roles: decodeList(try row.decode(column: "roles", as: String.self)).compactMap(Role.init),
            createdAt: try date("created_at")!,
            createdBy: try row.decode(column: "created_by", as: String?.self),
            expiresAt: try date("expires_at"),
            revokedAt: try date("revoked_at"),
            lastUsedAt: try date("last_used_at"))
    }
}
