/// The five messages Clearance sends to the person being verified
/// (`emails.md`). The raw value names the kind in the outbox and in the
/// template files.
public enum EmailKind: String, Sendable, CaseIterable, Codable {
    case decisionApproved = "decision_approved"
    case decisionDeclined = "decision_declined"
    case resubmissionRequested = "resubmission_requested"
    case kycChangesRequested = "kyc_changes_requested"
    case kycRejected = "kyc_rejected"
}

/// Where the recipient of a session email came from, as previews report it.
public enum RecipientSource: String, Sendable, Codable {
    /// `email_address` in the request.
    case request
    /// The address the person proved in the session's email-verification step.
    case emailVerification = "email_verification"
    /// `contact_details.email` given when the session was created.
    case contactDetails = "contact_details"
}

/// Recipient resolution: the request's address wins, then an address the
/// person verified during the session, then the contact address the
/// integrator gave. Nil when there is none.
public enum RecipientResolver {
    public static func resolve(request: String?, verified: String?, contact: String?) -> (address: String, source: RecipientSource)? {
        if let request, !request.isEmpty { return (request, .request) }
        if let verified, FieldRules.isEmail(verified) { return (verified, .emailVerification) }
        if let contact, FieldRules.isEmail(contact) { return (contact, .contactDetails) }
        return nil
    }
}
