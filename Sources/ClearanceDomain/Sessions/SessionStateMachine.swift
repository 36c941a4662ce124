import Foundation

/// Why a manual status change is refused (each a 400, nothing changed).
public enum ManualChangeRefusal: Sendable, Equatable {
    /// The session is not in a status a person may change (`Not Started`,
    /// `In Progress`, `Awaiting User`, `Expired`).
    case wrongCurrentStatus(SessionStatus)
    /// `new_status` is not one a person may set.
    case targetNotAllowed(SessionStatus)
    /// `send_email: true` with no address to send to.
    case missingRecipient
    /// `Resubmitted` → `Resubmitted`.
    case sameStatus

    public var field: String {
        switch self {
        case .wrongCurrentStatus: "status"
        case .targetNotAllowed, .sameStatus: "new_status"
        case .missingRecipient: "email_address"
        }
    }

    public var message: String {
        switch self {
        case .wrongCurrentStatus: "Wrong Current Status"
        case .targetNotAllowed(let status):
            "'\(status.rawValue)' cannot be set by hand; use Approved, Declined, Resubmitted or In Review."
        case .missingRecipient:
            "send_email needs a recipient: give email_address or set contact_details.email on the session."
        case .sameStatus: "The new status is the same as the current status."
        }
    }
}

/// What a manual change (`PATCH …/update-status/`) does, decided from the
/// session's current status and the request alone (checks 1–3 of
/// `sessions.md`, in that order). Resubmission's node selection (check 4)
/// is `ResubmissionPlanner`'s.
public enum ManualChangeOutcome: Sendable, Equatable {
    /// 200 and nothing happens: no write, webhook or email.
    case unchanged
    /// Write `to`; `Resubmitted` also resets the selected nodes.
    case change(to: SessionStatus)
    case refused(ManualChangeRefusal)
}

/// Events that move a session without a person deciding.
public enum AutomaticEvent: Sendable, Equatable {
    /// The end user (or an integration reporting a node) did something.
    case activity
    /// Every node has a result; the decision rule gave this status.
    case decided(SessionStatus)
    /// `expires_at` passed.
    case expired
    /// The verified document's expiry date passed (callers skip this when
    /// the workflow allows expired documents).
    case documentExpired
}

/// The session status machine: data plus pure functions. Every status
/// change, manual or automatic, is decided here before anything is written.
public enum SessionStateMachine {
    /// Statuses a person may change from.
    public static let manualSources: Set<SessionStatus> = [
        .approved, .declined, .inReview, .kycExpired, .abandoned, .resubmitted,
    ]
    /// Statuses a person may set.
    public static let manualTargets: Set<SessionStatus> = [.approved, .declined, .resubmitted, .inReview]

    /// Checks 1–3 of a manual change, in the order the spec gives.
    public static func manual(
        current: SessionStatus, requested: SessionStatus, sendEmail: Bool, hasRecipient: Bool
    ) -> ManualChangeOutcome {
        guard manualSources.contains(current) else { return .refused(.wrongCurrentStatus(current)) }
        guard manualTargets.contains(requested) else { return .refused(.targetNotAllowed(requested)) }
        if sendEmail && !hasRecipient { return .refused(.missingRecipient) }
        if current == requested {
            return requested == .resubmitted ? .refused(.sameStatus) : .unchanged
        }
        return .change(to: requested)
    }

    /// The status an automatic event moves a session to; nil when the event
    /// does not apply to the current status.
    public static func automatic(current: SessionStatus, event: AutomaticEvent) -> SessionStatus? {
        switch (current, event) {
        case (.notStarted, .activity), (.resubmitted, .activity):
            return .inProgress
        case (.inProgress, .decided(let outcome)) where [.approved, .declined, .inReview].contains(outcome):
            return outcome
        case (.notStarted, .expired):
            return .expired
        case (.inProgress, .expired), (.resubmitted, .expired):
            // Started but not finished in time.
            return .abandoned
        case (.approved, .documentExpired):
            return .kycExpired
        default:
            return nil
        }
    }
}
