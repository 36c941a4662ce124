import Foundation
import SQLKit
import ClearanceDomain

/// An event as the change that causes it records it.
public struct OutboxEvent: Sendable, Equatable {
    public var id: String
    public var environment: KeyEnvironment
    public var type: WebhookEventType
    public var sessionID: String?
    public var sequence: Int64
    /// The exact body to send (compact JSON, keys sorted); `.null` until
    /// built at enqueue.
    public var payload: JSONValue
    public var createdAt: Date

    public init(
        id: String, environment: KeyEnvironment, type: WebhookEventType, sessionID: String?, sequence: Int64,
        payload: JSONValue = .null, createdAt: Date
    ) {
        self.id = id
        self.environment = environment
        self.type = type
        self.sessionID = sessionID
        self.sequence = sequence
        self.payload = payload
        self.createdAt = createdAt
    }
}

public protocol WebhookOutboxRepository: Sendable {
    /// Inside the change's transaction: the event and one pending delivery
    /// per enabled destination of its environment subscribed to its type.
    /// The payload is built (and sealed) only when some destination will
    /// receive it; otherwise the event row keeps just its facts. Answers how
    /// many deliveries were queued.
    @discardableResult
    func enqueue(
        _ event: OutboxEvent, payload: @Sendable () async throws -> JSONValue, on sql: any SQLDatabase
    ) async throws -> Int
    /// A test event for one destination, whatever it subscribes to; answers
    /// the delivery's id.
    func enqueueTest(_ event: OutboxEvent, destinationID: String, on sql: any SQLDatabase) async throws -> String
    /// The event with its payload opened; nil (and `shredded`) when the
    /// payload is gone: its session was deleted, or nobody subscribed.
    func event(id: String) async throws -> (event: OutboxEvent?, shredded: Bool)
    func deliveries(eventID: String) async throws -> [(id: String, destinationID: String, status: String)]
    /// A session's events in sequence order.
    func events(sessionID: String) async throws -> [(id: String, type: WebhookEventType, sequence: Int64)]
}

public struct SQLWebhookOutboxRepository: WebhookOutboxRepository {
    let database: any Database
    let sealer: Sealer
    let sessionKeys: SessionKeys

    public init(database: any Database, sealer: Sealer) {
        self.database = database
        self.sealer = sealer
        self.sessionKeys = SessionKeys(sealer: sealer)
    }

    static func context(_ id: String) -> String { "webhook_events.payload:\(id)" }

    public func enqueue(
        _ event: OutboxEvent, payload: @Sendable () async throws -> JSONValue, on sql: any SQLDatabase
    ) async throws -> Int {
        let createdAt = Timestamp.milliseconds(event.createdAt)
        let destinations = try await sql.all(FixedQuery(
            "SELECT id, subscribed_events FROM webhook_destinations WHERE environment = ? AND enabled = TRUE AND deleted_at IS NULL",
            [.text(event.environment.rawValue)]))
        var subscribers: [String] = []
        for row in destinations {
            guard case .array(let names) = JSONValue(parsing: try row.decode(column: "subscribed_events", as: String.self)),
                names.contains(.string(event.type.rawValue))
            else { continue }
            subscribers.append(try row.decode(column: "id", as: String.self))
        }
        // No destination wants it: no row. An event is kept to be delivered;
        // one nobody subscribed to could never be (a destination added later
        // gets the events after it), and writing it cost every change a
        // random page of `webhook_events_by_session`.
        guard !subscribers.isEmpty else { return 0 }
        let keySealer = try await sessionKeys.sealer(forSession: event.sessionID, on: sql)
        let text = try await payload().canonicalText
        let sealed = try keySealer.map { try $0.seal(string: text, context: Self.context(event.id)) }
        try await sql.run(FixedQuery(
            """
            INSERT INTO webhook_events (event_id, environment, webhook_type, session_id, sequence, payload_sealed, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(event.id), .text(event.environment.rawValue), .text(event.type.rawValue), .text(event.sessionID),
                .integer(event.sequence), .blob(sealed), .integer(createdAt),
            ]))
        for destinationID in subscribers {
            try await sql.raw("""
                INSERT INTO webhook_deliveries (id, event_id, destination_id, status, attempts, next_attempt_at, created_at)
                VALUES (\(bind: Identifier.timeOrdered(at: event.createdAt)), \(bind: event.id), \(bind: destinationID),
                'pending', 0, \(bind: createdAt), \(bind: createdAt))
                """).run()
        }
        try await database.announceOnCommit(.webhooks, on: sql)
        return subscribers.count
    }

    public func enqueueTest(_ event: OutboxEvent, destinationID: String, on sql: any SQLDatabase) async throws -> String {
        let createdAt = Timestamp.milliseconds(event.createdAt)
        let sealed = try sealer.seal(string: event.payload.canonicalText, context: Self.context(event.id))
        try await sql.raw("""
            INSERT INTO webhook_events (event_id, environment, webhook_type, session_id, sequence, payload_sealed, created_at)
            VALUES (\(bind: event.id), \(bind: event.environment.rawValue), \(bind: event.type.rawValue), NULL,
            \(bind: event.sequence), \(bind: sealed), \(bind: createdAt))
            """).run()
        let deliveryID = Identifier.timeOrdered(at: event.createdAt)
        try await sql.raw("""
            INSERT INTO webhook_deliveries (id, event_id, destination_id, status, attempts, next_attempt_at, created_at)
            VALUES (\(bind: deliveryID), \(bind: event.id), \(bind: destinationID), 'pending', 0, \(bind: createdAt), \(bind: createdAt))
            """).run()
        try await database.announceOnCommit(.webhooks, on: sql)
        return deliveryID
    }

    public func event(id: String) async throws -> (event: OutboxEvent?, shredded: Bool) {
        try await database.read { sql in
            guard let row = try await sql.raw("SELECT * FROM webhook_events WHERE event_id = \(bind: id)").first() else {
                return (nil, false)
            }
            return try await open(row, on: sql)
        }
    }

    /// A `webhook_events` row with its payload opened; nil and `shredded`
    /// when the payload is gone (its session deleted, or nobody subscribed).
    func open(_ row: any SQLRow, on sql: any SQLDatabase) async throws -> (event: OutboxEvent?, shredded: Bool) {
        let id = try row.decode(column: "event_id", as: String.self)
        let sessionID = try row.decode(column: "session_id", as: String?.self)
        let keySealer = try await sessionKeys.sealer(forSession: sessionID, on: sql)
        guard let sealed = try row.decode(column: "payload_sealed", as: Data?.self), let keySealer else {
            return (nil, true)
        }
        guard let type = WebhookEventType(rawValue: try row.decode(column: "webhook_type", as: String.self)),
            let environment = KeyEnvironment(rawValue: try row.decode(column: "environment", as: String.self)),
            let payload = JSONValue(parsing: try keySealer.openString(sealed, context: Self.context(id)))
        else { throw StoreError.corrupt("webhook event \(id)") }
        return (
            OutboxEvent(
                id: id, environment: environment, type: type, sessionID: sessionID,
                sequence: try row.decode(column: "sequence", as: Int64.self), payload: payload,
                createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self))),
            false
        )
    }

    public func events(sessionID: String) async throws -> [(id: String, type: WebhookEventType, sequence: Int64)] {
        try await database.read { sql in
            try await sql.raw("SELECT event_id, webhook_type, sequence FROM webhook_events WHERE session_id = \(bind: sessionID) ORDER BY sequence, created_at")
                .all().map {
                    guard let type = WebhookEventType(rawValue: try $0.decode(column: "webhook_type", as: String.self)) else {
                        throw StoreError.corrupt("webhook event type")
                    }
                    return (try $0.decode(column: "event_id", as: String.self), type, try $0.decode(column: "sequence", as: Int64.self))
                }
        }
    }

    public func deliveries(eventID: String) async throws -> [(id: String, destinationID: String, status: String)] {
        try await database.read { sql in
            try await sql.raw("SELECT id, destination_id, status FROM webhook_deliveries WHERE event_id = \(bind: eventID) ORDER BY created_at, id")
                .all().map {
                    (
                        try $0.decode(column: "id", as: String.self), try $0.decode(column: "destination_id", as: String.self),
                        try $0.decode(column: "status", as: String.self)
                    )
                }
        }
    }
}
