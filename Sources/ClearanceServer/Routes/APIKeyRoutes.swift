import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// `/v3/api-keys/`: keys managed over the API by holders of `admin:keys`.
struct APIKeyRoutes {
    let store: Store
    let clock: ServerClock
    let publicURL: String

    func register(on group: RouterGroup<ClearanceRequestContext>) {
        group.post("/v3/api-keys/", use: create)
        group.get("/v3/api-keys/", use: list)
        group.delete("/v3/api-keys/:key_id/", use: revoke)
    }

    struct CreateBody: Decodable {
        var name: String
        var environment: String?
        var privileges: [String]?
        var roles: [String]?
        var expires_at: String?

        enum CodingKeys: String, CodingKey { case name, environment, privileges, roles, expires_at }

        /// The optional fields may be left out, not sent as null: the
        /// document types them, and schemathesis holds us to it (a null
        /// `environment` was read as absent and minted a key).
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            for key in [CodingKeys.environment, .privileges, .roles, .expires_at] where container.contains(key) {
                if try container.decodeNil(forKey: key) {
                    throw DecodingError.valueNotFound(
                        String.self, .init(codingPath: container.codingPath + [key], debugDescription: "null"))
                }
            }
            name = try container.decode(String.self, forKey: .name)
            environment = try container.decodeIfPresent(String.self, forKey: .environment)
            privileges = try container.decodeIfPresent([String].self, forKey: .privileges)
            roles = try container.decodeIfPresent([String].self, forKey: .roles)
            expires_at = try container.decodeIfPresent(String.self, forKey: .expires_at)
        }
    }

    struct KeyView: Encodable, Sendable {
        var id: String
        var name: String
        var key: String?
        var prefix: String
        var environment: String
        var privileges: [String]
        var roles: [String]
        var created_at: String
        var expires_at: String?
        var revoked_at: String?
        var last_used_at: String?

        init(_ record: APIKeyRecord, key: String? = nil) {
            id = record.id
            name = record.name
            self.key = key
            prefix = record.displayPrefix
            environment = record.environment.rawValue
            privileges = record.privileges.map(\.rawValue)
            roles = record.roles.map(\.rawValue)
            created_at = Timestamp.iso8601(record.createdAt)
            expires_at = record.expiresAt.map(Timestamp.iso8601)
            revoked_at = record.revokedAt.map(Timestamp.iso8601)
            last_used_at = record.lastUsedAt.map(Timestamp.iso8601)
        }

        func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case id, name, key, prefix, environment, privileges, roles, created_at, expires_at, revoked_at,
                    last_used_at
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(id, forKey: .id)
            try container.encode(name, forKey: .name)
            if let key { try container.encode(key, forKey: .key) }
            try container.encode(prefix, forKey: .prefix)
            try container.encode(environment, forKey: .environment)
            try container.encode(privileges, forKey: .privileges)
            try container.encode(roles, forKey: .roles)
            try container.encode(created_at, forKey: .created_at)
            try container.encode(expires_at, forKey: .expires_at)
            try container.encode(revoked_at, forKey: .revoked_at)
            try container.encode(last_used_at, forKey: .last_used_at)
        }
    }

    @Sendable func create(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.adminKeys)
        var request = request
        let body = try await request.decodeJSON(CreateBody.self, context: context)
        let new = try Self.validate(body, now: clock.now(), defaultEnvironment: principal.environment)
        guard principal.keyEnvironments.contains(new.environment) else {
            throw APIError(
                .forbidden, code: "PERMISSION_DENIED",
                detail: "A \(principal.environment.rawValue) key cannot create \(new.environment.rawValue) keys.", dalpID: "DALP-0006")
        }
        let (record, key) = try await APIKeyService(store: store).create(
            new, actor: principal.actor, requestID: context.requestID, now: clock.now())
        return try JSONResponse.make(KeyView(record, key: key), status: .created)
    }

    /// `environment` defaults to the caller's own.
    static func validate(_ body: CreateBody, now: Date, defaultEnvironment: KeyEnvironment) throws -> APIKeyService.NewKey {
        var issues: [FieldIssue] = []
        let name = body.name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > 100 {
            issues.append(FieldIssue(path: "name", message: "Must be 1 to 100 characters."))
        }
        let environment = KeyEnvironment(rawValue: body.environment ?? defaultEnvironment.rawValue)
        if environment == nil {
            issues.append(FieldIssue(path: "environment", message: "Must be one of: live, sandbox."))
        }
        let privileges = Choice.parseList(body.privileges ?? [], as: Privilege.self, path: "privileges", into: &issues)
        let roles = Choice.parseList(body.roles ?? [], as: Role.self, path: "roles", into: &issues)
        var expiresAt: Date?
        if let text = body.expires_at {
            if let date = Timestamp.parse(text) {
                if date <= now {
                    issues.append(FieldIssue(path: "expires_at", message: "Must be in the future."))
                }
                expiresAt = date
            } else {
                issues.append(FieldIssue(path: "expires_at", message: "Must be an ISO 8601 date-time."))
            }
        }
        if privileges.isEmpty && roles.isEmpty && issues.isEmpty {
            issues.append(FieldIssue(path: "privileges", message: "A key needs at least one privilege or role."))
        }
        guard issues.isEmpty, let environment else { throw APIError.validation(issues) }
        return .init(name: name, environment: environment, privileges: privileges, roles: roles, expiresAt: expiresAt)
    }

    @Sendable func list(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.adminKeys)
        let pagination = try Pagination(request)
        let all = try await store.apiKeys.list().filter { principal.keyEnvironments.contains($0.environment) }
        let slice = all.dropFirst(pagination.offset).prefix(pagination.limit).map { KeyView($0) }
        return try JSONResponse.make(
            Page(
                count: all.count, results: Array(slice), limit: pagination.limit, offset: pagination.offset,
                request: request, publicURL: publicURL))
    }

    @Sendable func revoke(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(.adminKeys)
        let id = try context.parameters.require("key_id")
        guard UUID(uuidString: id) != nil else {
            throw APIError.validation(path: "key_id", "Must be a UUID.")
        }
        guard
            try await APIKeyService(store: store).revoke(
                id: id.lowercased(), in: principal.keyEnvironments, actor: principal.actor, requestID: context.requestID,
                now: clock.now()) != nil
        else { throw APIError.notFound("No API key with this id.") }
        return Response(status: .noContent)
    }
}

/// Parsing of enum-valued request fields with one issue per bad entry.
enum Choice {
    static func parseList<T: RawRepresentable & CaseIterable>(
        _ values: [String], as type: T.Type, path: String, into issues: inout [FieldIssue]
    ) -> [T] where T.RawValue == String {
        var out: [T] = []
        for (index, value) in values.enumerated() {
            if let parsed = T(rawValue: value) {
                if !out.contains(where: { $0.rawValue == parsed.rawValue }) { out.append(parsed) }
            } else {
                issues.append(FieldIssue(path: "\(path)[\(index)]", message: invalid(value, T.self)))
            }
        }
        return out
    }

    static func invalid<T: RawRepresentable & CaseIterable>(_ value: String, _ type: T.Type) -> String
    where T.RawValue == String {
        "'\(value)' is not a valid choice; expected one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))."
    }
}
