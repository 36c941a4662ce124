/// A step a workflow can run (`sessions.md`, the workflow enum).
public enum Feature: String, CaseIterable, Sendable, Hashable, Codable {
    case ocr = "OCR"
    case nfc = "NFC"
    case liveness = "LIVENESS"
    case faceMatch = "FACE_MATCH"
    case proofOfAddress = "PROOF_OF_ADDRESS"
    case questionnaire = "QUESTIONNAIRE"
    case phoneVerification = "PHONE_VERIFICATION"
    case emailVerification = "EMAIL_VERIFICATION"
    case databaseValidation = "DATABASE_VALIDATION"
    case aml = "AML"
    case ipAnalysis = "IP_ANALYSIS"
    case ageEstimation = "AGE_ESTIMATION"
    case documentAI = "DOCUMENT_AI"
    case kybRegistry = "KYB_REGISTRY"
    case kybDocuments = "KYB_DOCUMENTS"
    case kybKeyPeople = "KYB_KEY_PEOPLE"

    /// Short names accepted wherever a request names a feature.
    public static let aliases: [String: Feature] = [
        "ID_VERIFICATION": .ocr, "OCR_BACK": .ocr, "POA": .proofOfAddress, "PHONE": .phoneVerification,
        "EMAIL": .emailVerification, "FACE": .liveness, "KYB": .kybRegistry,
    ]

    /// The canonical name or an alias; nil otherwise.
    public init?(name: String) {
        if let feature = Feature(rawValue: name) ?? Feature.aliases[name] {
            self = feature
        } else {
            return nil
        }
    }

    public var isKYB: Bool { self == .kybRegistry || self == .kybDocuments || self == .kybKeyPeople }

    /// Steps that need nothing from the person: they re-run at once on
    /// resubmission.
    public var needsNoUser: Bool { self == .aml || self == .databaseValidation || self == .ipAnalysis }

    /// Besides the KYB features, the only ones a business workflow may add.
    public static let allowedInBusiness: Set<Feature> = [
        .aml, .documentAI, .questionnaire, .phoneVerification, .emailVerification, .ipAnalysis,
    ]

    /// `feature_ocr`.
    public var defaultNodeIDStem: String { "feature_\(rawValue.lowercased())" }

    /// The decision array this feature's results appear in.
    public var decisionKey: String {
        switch self {
        case .ocr: "id_verifications"
        case .nfc: "nfc_verifications"
        case .liveness: "liveness_checks"
        case .faceMatch: "face_matches"
        case .proofOfAddress: "poa_verifications"
        case .phoneVerification: "phone_verifications"
        case .emailVerification: "email_verifications"
        case .aml: "aml_screenings"
        case .ipAnalysis: "ip_analyses"
        case .databaseValidation: "database_validations"
        case .questionnaire: "questionnaire_responses"
        case .documentAI: "document_ai_documents"
        case .ageEstimation: "age_estimations"
        case .kybRegistry: "registry_checks"
        case .kybDocuments: "document_verifications"
        case .kybKeyPeople: "key_people_checks"
        }
    }
}
