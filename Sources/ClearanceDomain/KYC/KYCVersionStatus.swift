/// Where a KYC profile version is in its life (`kyc-profiles.md`).
public enum KYCVersionStatus: String, Sendable, Codable, CaseIterable {
    case draft
    case underReview = "under_review"
    case approved
    case rejected
    case superseded
}

/// What the reviewer decided; `changesRequested` keeps the version under review.
public enum KYCReviewOutcome: String, Sendable, Codable, CaseIterable {
    case approved
    case rejected
    case changesRequested = "changes_requested"
}

public enum KYCActionRequestStatus: String, Sendable, Codable, CaseIterable {
    case open
    case fulfilled
    case cancelled
    case expired
}

/// The three reviewer actions and the DALP error each answers with when its
/// version is missing or in the wrong state.
public enum KYCReviewAction: String, Sendable, CaseIterable {
    case approve
    case reject
    case requestUpdate

    /// The DALP id when the version is missing (404) or not under review (409).
    public var missingID: String {
        switch self {
        case .approve: "DALP-0388"
        case .reject: "DALP-0390"
        case .requestUpdate: "DALP-0419"
        }
    }

    public var notUnderReviewID: String {
        switch self {
        case .approve: "DALP-0388"
        case .reject: "DALP-0390"
        case .requestUpdate: "DALP-0415"
        }
    }

    /// The outcome and status the action leaves the version in.
    public var result: (status: KYCVersionStatus, outcome: KYCReviewOutcome) {
        switch self {
        case .approve: (.approved, .approved)
        case .reject: (.rejected, .rejected)
        case .requestUpdate: (.underReview, .changesRequested)
        }
    }
}

/// Why an action is refused: the DALP id and a sentence.
public struct KYCRefusal: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case notFound
        case conflict
        case forbidden
    }

    public var kind: Kind
    public var dalpID: String
    public var code: String
    public var message: String

    public init(kind: Kind, dalpID: String, code: String, message: String) {
        self.kind = kind
        self.dalpID = dalpID
        self.code = code
        self.message = message
    }
}

/// Which reviewer action is allowed from which state.
public enum KYCReviewMachine {
    /// Nil when `action` may run on a version in `status`. A version under
    /// review with outcome `changes_requested` still counts as under review.
    /// With four eyes on, the submitter may not approve.
    public static func refusal(
        _ action: KYCReviewAction, status: KYCVersionStatus, fourEyes: Bool = false, submittedBy: String? = nil,
        actor: String = ""
    ) -> KYCRefusal? {
        guard status == .underReview else {
            return KYCRefusal(
                kind: .conflict, dalpID: action.notUnderReviewID, code: "KYC_VERSION_NOT_UNDER_REVIEW",
                message: "The version is \(status.rawValue); only a version under review can be actioned.")
        }
        if action == .approve, fourEyes, let submittedBy, submittedBy == actor {
            return KYCRefusal(
                kind: .forbidden, dalpID: "DALP-0006", code: "FOUR_EYES_REQUIRED",
                message: "Four eyes are on: the principal who submitted this version may not approve it.")
        }
        return nil
    }

    public static func missing(_ action: KYCReviewAction) -> KYCRefusal {
        KYCRefusal(kind: .notFound, dalpID: action.missingID, code: "KYC_VERSION_NOT_FOUND", message: "No KYC version with this id.")
    }

    /// Edits, documents and submission need a draft.
    public static func draftRefusal(_ status: KYCVersionStatus) -> KYCRefusal? {
        status == .draft
            ? nil
            : KYCRefusal(
                kind: .conflict, dalpID: "DALP-0009", code: "KYC_VERSION_NOT_DRAFT",
                message: "The version is \(status.rawValue); only a draft can be changed or submitted.")
    }
}
