/// Events a destination can subscribe to (`webhooks.md`). No wildcard.
public enum WebhookEventType: String, CaseIterable, Sendable, Codable {
    case statusUpdated = "status.updated"
    case dataUpdated = "data.updated"
    case kycVersionSubmitted = "kyc.version.submitted"
    case kycVersionApproved = "kyc.version.approved"
    case kycVersionRejected = "kyc.version.rejected"
    case kycVersionChangesRequested = "kyc.version.changes_requested"
    case kycActionRequestExpired = "kyc.action_request.expired"
}
