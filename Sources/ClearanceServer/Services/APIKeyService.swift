import Foundation
import ClearanceDomain
import ClearanceStore

/// Creating and revoking keys, each with its audit entry in one transaction.
/// The API routes and the CLI (which works on the database directly) share it.
public struct APIKeyService: Sendable {
    let store: Store

    public init(store: Store) { self.store = store }

    public struct NewKey: Sendable {
        public var name: String
        public var environment: KeyEnvironment
        public var privileges: [Privilege]
        public var roles: [Role]
        public var expiresAt: Date?

        public init(
            name: String, environment: KeyEnvironment, privileges: [Privilege], roles: [Role], expiresAt: Date? = nil
        ) {
            self.name = name
            self.environment = environment
            self.privileges = privileges
            self.roles = roles
            self.expiresAt = expiresAt
        }
    }

    /// The stored record and the key text, which exists only in this answer.
    public func create(_ new: NewKey, actor: String, requestID: String?, now: Date) async throws -> (APIKeyRecord, String) {
        let (record, token) = Self.makeRecord(new, actor: actor, now: now)
        try await store.database.transaction { sql in
            try await store.apiKeys.insert(record, on: sql)
            try await store.audit.append(
                Self.auditEvent("api_key.created", record: record, actor: actor, requestID: requestID), at: now, on: sql)
        }
        return (record, token.text)
    }

    /// Revokes a key; nil when there is no such key in `environments`.
    public func revoke(
        id: String, in environments: Set<KeyEnvironment> = Set(KeyEnvironment.allCases), actor: String, requestID: String?,
        now: Date
    ) async throws -> APIKeyRecord? {
        try await store.database.transaction { sql -> APIKeyRecord? in
            guard var record = try await store.apiKeys.find(id: id, on: sql), environments.contains(record.environment) else {
                return nil
            }
            guard record.revokedAt == nil else { return record }
            try await store.apiKeys.revoke(id: id, at: now, on: sql)
            record.revokedAt = now
            try await store.audit.append(
                Self.auditEvent("api_key.revoked", record: record, actor: actor, requestID: requestID), at: now, on: sql)
            return record
        }
    }

    /// On a database that has never had a key, creates the first admin key
    /// and returns its text; nil otherwise. Several processes starting at
    /// once create exactly one (the settings row is the arbiter).
    public func bootstrapAdminKey(now: Date) async throws -> String? {
        try await store.database.transaction { sql -> String? in
            let claimed = try await store.settings.insertIfAbsent(
                "admin_key_bootstrapped", value: "true", at: now, on: sql)
            guard claimed, try await store.apiKeys.count(on: sql) == 0 else { return nil }
            let (record, token) = Self.makeRecord(
                NewKey(name: "admin (first start)", environment: .live, privileges: Privilege.allCases, roles: [.admin]),
                actor: "system", now: now)
            try await store.apiKeys.insert(record, on: sql)
            try await store.audit.append(
                Self.auditEvent("api_key.created", record: record, actor: "system", requestID: nil), at: now, on: sql)
            return token.text
        }
    }

    static func makeRecord(_ new: NewKey, actor: String, now: Date) -> (APIKeyRecord, APIKeyToken) {
        let token = APIKeyToken.generate(environment: new.environment)
        let record = APIKeyRecord(
            id: Identifier.random(), lookupID: token.lookupID, secretHash: token.secretHash,
            displayPrefix: token.displayPrefix, name: new.name, environment: new.environment,
            privileges: new.privileges, roles: new.roles, createdAt: now, createdBy: actor, expiresAt: new.expiresAt)
        return (record, token)
    }

    static func auditEvent(_ action: String, record: APIKeyRecord, actor: String, requestID: String?) -> AuditEvent {
        AuditEvent(
            actor: actor, action: action, subjectType: "api_key", subjectID: record.id,
            after: [
                "name": .string(record.name), "environment": .string(record.environment.rawValue),
                "privileges": .array(record.privileges.map { .string($0.rawValue) }),
                "roles": .array(record.roles.map { .string($0.rawValue) }),
                "revoked": .bool(record.revokedAt != nil),
            ],
            requestID: requestID)
    }
}
