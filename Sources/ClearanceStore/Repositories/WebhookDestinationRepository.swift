import Foundation
import SQLKit
import ClearanceDomain

public struct WebhookDestinationRecord: Sendable, Equatable {
    public var id: String
    public var environment: KeyEnvironment
    public var label: String
    public var url: String
    public var enabled: Bool
    public var webhookVersion: String
    public var subscribedEvents: [WebhookEventType]
    public var secret: WebhookSecret
    public var previousSecret: WebhookSecret?
    public var previousSecretExpiresAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, environment: KeyEnvironment, label: String, url: String, enabled: Bool, webhookVersion: String,
        subscribedEvents: [WebhookEventType], secret: WebhookSecret, previousSecret: WebhookSecret? = nil,
        previousSecretExpiresAt: Date? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.environment = environment
        self.label = label
        self.url = url
        self.enabled = enabled
        self.webhookVersion = webhookVersion
        self.subscribedEvents = subscribedEvents
        self.secret = secret
        self.previousSecret = previousSecret
        self.previousSecretExpiresAt = previousSecretExpiresAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The previous secret while it still signs (24 h after a rotation).
    public func previousSecret(at now: Date) -> WebhookSecret? {
        guard let previousSecret, let expiry = previousSecretExpiresAt, expiry > now else { return nil }
        return previousSecret
    }
}

public protocol WebhookDestinationRepository: Sendable {
    func insert(_ destination: WebhookDestinationRecord, on sql: any SQLDatabase) async throws
    func update(_ destination: WebhookDestinationRecord, on sql: any SQLDatabase) async throws
    func lock(id: String, environment: KeyEnvironment, on sql: any SQLDatabase) async throws -> WebhookDestinationRecord?
    func find(id: String, environment: KeyEnvironment) async throws -> WebhookDestinationRecord?
    func list(environment: KeyEnvironment, limit: Int, offset: Int) async throws -> (total: Int, items: [WebhookDestinationRecord])
    /// Whether a live destination of the environment already has `url`.
    func urlTaken(_ url: String, environment: KeyEnvironment, except id: String?, on sql: any SQLDatabase) async throws -> Bool
    func softDelete(id: String, at: Date, on sql: any SQLDatabase) async throws
}

public struct SQLWebhookDestinationRepository: WebhookDestinationRepository {
    let database: any Database
    let sealer: Sealer

    public init(database: any Database, sealer: Sealer) {
        self.database = database
        self.sealer = sealer
    }

    static func context(_ id: String, previous: Bool = false) -> String {
        "webhook_destinations.\(previous ? "previous_secret" : "secret"):\(id)"
    }

    public func insert(_ destination: WebhookDestinationRecord, on sql: any SQLDatabase) async throws {
        try await sql.insert(into: "webhook_destinations")
            .columns(
                "id", "environment", "label", "url", "enabled", "webhook_version", "subscribed_events", "secret_sealed",
                "previous_secret_sealed", "previous_secret_expires_at", "created_at", "updated_at")
            .values(
                SQLBind(destination.id), SQLBind(destination.environment.rawValue), SQLBind(destination.label),
                SQLBind(destination.url), SQLBind(destination.enabled), SQLBind(destination.webhookVersion),
                SQLBind(Self.events(destination.subscribedEvents)),
                SQLBind(try sealer.seal(destination.secret.bytes, context: Self.context(destination.id))),
                SQLBind(try destination.previousSecret.map { try sealer.seal($0.bytes, context: Self.context(destination.id, previous: true)) }),
                SQLBind(destination.previousSecretExpiresAt.map(Timestamp.milliseconds)),
                SQLBind(Timestamp.milliseconds(destination.createdAt)), SQLBind(Timestamp.milliseconds(destination.updatedAt)))
            .run()
    }

    public func update(_ destination: WebhookDestinationRecord, on sql: any SQLDatabase) async throws {
        try await sql.update("webhook_destinations")
            .set("label", to: destination.label).set("url", to: destination.url).set("enabled", to: destination.enabled)
            .set("webhook_version", to: destination.webhookVersion)
            .set("subscribed_events", to: Self.events(destination.subscribedEvents))
            .set("secret_sealed", to: SQLBind(try sealer.seal(destination.secret.bytes, context: Self.context(destination.id))))
            .set("previous_secret_sealed", to: SQLBind(try destination.previousSecret.map {
                try sealer.seal($0.bytes, context: Self.context(destination.id, previous: true))
            }))
            .set("previous_secret_expires_at", to: SQLBind(destination.previousSecretExpiresAt.map(Timestamp.milliseconds)))
            .set("updated_at", to: Timestamp.milliseconds(destination.updatedAt))
            .where("id", .equal, destination.id).run()
    }

    public func lock(id: String, environment: KeyEnvironment, on sql: any SQLDatabase) async throws -> WebhookDestinationRecord? {
        try await sql.select().column("*").from("webhook_destinations").where("id", .equal, id)
            .where("environment", .equal, environment.rawValue).where("deleted_at", .is, SQLLiteral.null)
            .for(.update).first().map(record)
    }

    public func find(id: String, environment: KeyEnvironment) async throws -> WebhookDestinationRecord? {
        try await database.read { sql in
            try await sql.select().column("*").from("webhook_destinations").where("id", .equal, id)
                .where("environment", .equal, environment.rawValue).where("deleted_at", .is, SQLLiteral.null)
                .first().map(record)
        }
    }

    public func list(environment: KeyEnvironment, limit: Int, offset: Int) async throws -> (total: Int, items: [WebhookDestinationRecord]) {
        try await database.read { sql in
            let total = try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n")
                .from("webhook_destinations").where("environment", .equal, environment.rawValue)
                .where("deleted_at", .is, SQLLiteral.null).first()?.decode(column: "n", as: Int.self) ?? 0
            let rows = try await sql.select().column("*").from("webhook_destinations")
                .where("environment", .equal, environment.rawValue).where("deleted_at", .is, SQLLiteral.null)
                .orderBy("created_at").orderBy("id").limit(limit).offset(offset).all()
            return (total, try rows.map(record))
        }
    }

    public func urlTaken(_ url: String, environment: KeyEnvironment, except id: String?, on sql: any SQLDatabase) async throws -> Bool {
        var query = sql.select().column("id").from("webhook_destinations").where("environment", .equal, environment.rawValue)
            .where("url", .equal, url).where("deleted_at", .is, SQLLiteral.null)
        if let id { query = query.where("id", .notEqual, id) }
        return try await query.first() != nil
    }

    public func softDelete(id: String, at: Date, on sql: any SQLDatabase) async throws {
        try await sql.update("webhook_destinations").set("deleted_at", to: Timestamp.milliseconds(at))
            .set("updated_at", to: Timestamp.milliseconds(at)).where("id", .equal, id).run()
    }

    static func events(_ events: [WebhookEventType]) -> String {
        JSONValue.array(events.map { .string($0.rawValue) }).canonicalText
    }

    private func record(_ row: any SQLRow) throws -> WebhookDestinationRecord {
        let id = try row.decode(column: "id", as: String.self)
        guard let environment = KeyEnvironment(rawValue: try row.decode(column: "environment", as: String.self)),
            case .array(let eventValues) = JSONValue(parsing: try row.decode(column: "subscribed_events", as: String.self)),
            let secret = WebhookSecret(bytes: Array(try sealer.open(try row.decode(column: "secret_sealed", as: Data.self), context: Self.context(id))))
        else { throw StoreError.corrupt("webhook destination \(id)") }
        var previous: WebhookSecret?
        if let sealed = try row.decode(column: "previous_secret_sealed", as: Data?.self) {
            previous = WebhookSecret(bytes: Array(try sealer.open(sealed, context: Self.context(id, previous: true))))
        }
        return WebhookDestinationRecord(
            id: id, environment: environment, label: try row.decode(column: "label", as: String.self),
            url: try row.decode(column: "url", as: String.self), enabled: try row.decode(column: "enabled", as: Bool.self),
            webhookVersion: try row.decode(column: "webhook_version", as: String.self),
            subscribedEvents: eventValues.compactMap { $0.stringValue.flatMap(WebhookEventType.init) }, secret: secret,
            previousSecret: previous,
            previousSecretExpiresAt: try row.decode(column: "previous_secret_expires_at", as: Int64?.self).map(Timestamp.date(milliseconds:)),
            createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Timestamp.date(milliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }
}
