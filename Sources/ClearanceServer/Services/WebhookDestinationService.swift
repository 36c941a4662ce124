import Foundation
import ClearanceDomain
import ClearanceStore

/// Creating, changing and removing webhook destinations, each audited
/// (never with the secret) in its transaction.
public struct WebhookDestinationService: Sendable {
    let store: Store

    public init(store: Store) { self.store = store }

    public static let rotationOverlap: TimeInterval = 24 * 3600

    public func create(
        label: String, url: String, enabled: Bool, events: [WebhookEventType], principal: Principal, requestID: String?,
        now: Date
    ) async throws -> WebhookDestinationRecord {
        let destination = WebhookDestinationRecord(
            id: Identifier.random(), environment: principal.environment, label: label, url: url,
            enabled: enabled, webhookVersion: "v3", subscribedEvents: events, secret: .generate(), createdAt: now,
            updatedAt: now)
        try await store.database.transaction { sql in
            if try await store.webhookDestinations.urlTaken(url, environment: principal.environment, except: nil, on: sql) {
                throw APIError.conflict("A destination with this URL already exists.", code: "DUPLICATE_URL")
            }
            try await store.webhookDestinations.insert(destination, on: sql)
            try await store.audit.append(
                Self.auditEvent("webhook_destination.created", destination, actor: principal.actor, requestID: requestID),
                at: now, on: sql)
        }
        return destination
    }

    public struct Change: Sendable {
        public var label: String?
        public var url: String?
        public var enabled: Bool?
        public var events: [WebhookEventType]?
        public var rotateSecret: Bool

        public init(label: String? = nil, url: String? = nil, enabled: Bool? = nil, events: [WebhookEventType]? = nil, rotateSecret: Bool = false) {
            self.label = label
            self.url = url
            self.enabled = enabled
            self.events = events
            self.rotateSecret = rotateSecret
        }
    }

    /// Nil when there is no such destination in the caller's environment.
    public func update(id: String, change: Change, principal: Principal, requestID: String?, now: Date) async throws
        -> WebhookDestinationRecord?
    {
        try await store.database.transaction { sql -> WebhookDestinationRecord? in
            guard var destination = try await store.webhookDestinations.lock(id: id, environment: principal.environment, on: sql)
            else { return nil }
            if let url = change.url, url != destination.url {
                if try await store.webhookDestinations.urlTaken(url, environment: principal.environment, except: id, on: sql) {
                    throw APIError.conflict("A destination with this URL already exists.", code: "DUPLICATE_URL")
                }
                destination.url = url
            }
            if let label = change.label { destination.label = label }
            if let enabled = change.enabled { destination.enabled = enabled }
            if let events = change.events { destination.subscribedEvents = events }
            var action = "webhook_destination.updated"
            if change.rotateSecret {
                // The old secret keeps signing beside the new one for 24 h.
                destination.previousSecret = destination.secret
                destination.previousSecretExpiresAt = now.addingTimeInterval(Self.rotationOverlap)
                destination.secret = .generate()
                action = "webhook_destination.secret_rotated"
            }
            destination.updatedAt = now
            try await store.webhookDestinations.update(destination, on: sql)
            try await store.audit.append(
                Self.auditEvent(action, destination, actor: principal.actor, requestID: requestID), at: now, on: sql)
            return destination
        }
    }

    public func delete(id: String, principal: Principal, requestID: String?, now: Date) async throws -> Bool {
        try await store.database.transaction { sql -> Bool in
            guard let destination = try await store.webhookDestinations.lock(id: id, environment: principal.environment, on: sql)
            else { return false }
            try await store.webhookDestinations.softDelete(id: id, at: now, on: sql)
            try await store.audit.append(
                Self.auditEvent("webhook_destination.deleted", destination, actor: principal.actor, requestID: requestID),
                at: now, on: sql)
            return true
        }
    }

    static func auditEvent(_ action: String, _ destination: WebhookDestinationRecord, actor: String, requestID: String?) -> AuditEvent {
        AuditEvent(
            actor: actor, action: action, subjectType: "webhook_destination", subjectID: destination.id,
            after: [
                "url": .string(destination.url), "enabled": .bool(destination.enabled),
                "subscribed_events": .array(destination.subscribedEvents.map { .string($0.rawValue) }),
                "secret_last4": .string(destination.secret.last4),
            ],
            requestID: requestID)
    }
}
