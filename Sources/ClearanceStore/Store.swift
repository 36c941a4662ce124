import Foundation
import Logging
import ClearanceDomain

/// The store as the rest of the program sees it: the database, the sealer
/// for personal data, and one repository per aggregate.
public struct Store: Sendable {
    public let database: any Database
    public let sealer: Sealer
    /// The email outbox (`emails.md`).
    public let emails: SQLEmailOutboxRepository
    /// How emails queued through this store sign and link (set from the
    /// server's configuration by `withEmail`), so every caller that renders
    /// one (API, console, KYC actions) uses the deployment's values.
    public internal(set) var emailSender = EmailSender()
    public internal(set) var emailLinkBase = "http://127.0.0.1:8080"
    public let settings: SettingsRepository
    public let audit: any AuditTrail
    public let apiKeys: any APIKeyRepository
    /// Settable by tests only (`@testable`), to stand in for a process that dies mid-request.
    public internal(set) var idempotency: any IdempotencyRepository
    public let workflows: any WorkflowRepository
    public let sessions: any SessionRepository
    public let webhookDestinations: any WebhookDestinationRepository
    public let outbox: any WebhookOutboxRepository
    public let deliveries: SQLWebhookDeliveryRepository
    public let kyc: KYCRepository

    public init(database: any Database, sealer: Sealer) {
        self.database = database
        self.sealer = sealer
        self.emails = SQLEmailOutboxRepository(database: database, sealer: sealer)
        self.settings = SettingsRepository(database: database)
        self.audit = SQLAuditTrail(database: database)
        self.apiKeys = SQLAPIKeyRepository(database: database)
        self.idempotency = SQLIdempotencyRepository(database: database, sealer: sealer)
        self.workflows = SQLWorkflowRepository(database: database)
        self.sessions = SQLSessionRepository(database: database, sealer: sealer)
        self.webhookDestinations = SQLWebhookDestinationRepository(database: database, sealer: sealer)
        let outbox = SQLWebhookOutboxRepository(database: database, sealer: sealer)
        self.outbox = outbox
        self.deliveries = SQLWebhookDeliveryRepository(database: database, outbox: outbox)
        self.kyc = KYCRepository(database: database, sealer: sealer)
    }
}
