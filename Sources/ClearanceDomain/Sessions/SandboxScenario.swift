import Foundation

/// A sandbox key's shortcut: the session runs at once to this outcome, with
/// node results and warnings, as if a person had completed it.
public enum SandboxScenario: String, CaseIterable, Sendable {
    case approve
    case declineDocumentExpired = "decline_document_expired"
    case declineCouldNotRecognizeDocument = "decline_could_not_recognize_document"
    case declineMRZValidation = "decline_mrz_validation"
    case declineMinimumAge = "decline_minimum_age"
    case declineFaceMatchLowSimilarity = "decline_face_match_low_similarity"
    case declineLivenessAttack = "decline_liveness_attack"
    case declineAMLHit = "decline_aml_hit"
    case declineIPBlocklist = "decline_ip_blocklist"
    case declinePOAAddressMismatch = "decline_poa_address_mismatch"
    case declineNFCChipNotVerified = "decline_nfc_chip_not_verified"
    case declineDatabaseNoMatch = "decline_database_no_match"
    case reviewAMLPossibleMatch = "review_aml_possible_match"
    case reviewFaceMatchBorderline = "review_face_match_borderline"
    case reviewPOAPartialMatch = "review_poa_partial_match"
    case declineKYBRegistryMismatch = "decline_kyb_registry_mismatch"

    /// The node the scenario fails or flags, its status and its warning;
    /// nil for `approve`.
    public var target: (feature: Feature, status: NodeStatus, warning: SessionWarning)? {
        func warning(_ code: String, _ short: String, _ long: String, _ severity: String = "high") -> SessionWarning {
            SessionWarning(code: code, risk: code, shortDescription: short, longDescription: long, severity: severity)
        }
        switch self {
        case .approve: return nil
        case .declineDocumentExpired:
            return (.ocr, .declined, warning("DOCUMENT_EXPIRED", "Document expired", "The identity document is past its expiry date."))
        case .declineCouldNotRecognizeDocument:
            return (.ocr, .declined, warning("COULD_NOT_RECOGNIZE_DOCUMENT", "Document not recognised", "The document type could not be recognised."))
        case .declineMRZValidation:
            return (.ocr, .declined, warning("MRZ_VALIDATION_FAILED", "MRZ check failed", "The machine-readable zone does not validate."))
        case .declineMinimumAge:
            return (.ocr, .declined, warning("MINIMUM_AGE_NOT_MET", "Under minimum age", "The person is younger than the workflow's minimum age."))
        case .declineFaceMatchLowSimilarity:
            return (.faceMatch, .declined, warning("LOW_FACE_MATCH_SIMILARITY", "Faces do not match", "The selfie does not match the document portrait."))
        case .declineLivenessAttack:
            return (.liveness, .declined, warning("LIVENESS_ATTACK_DETECTED", "Presentation attack", "The liveness check detected a spoofing attempt.", "critical"))
        case .declineAMLHit:
            return (.aml, .declined, warning("AML_HIT", "Sanctions or PEP hit", "The screening found a confirmed match.", "critical"))
        case .declineIPBlocklist:
            return (.ipAnalysis, .declined, warning("IP_IN_BLOCKLIST", "Blocked IP address", "The connection came from a blocklisted address."))
        case .declinePOAAddressMismatch:
            return (.proofOfAddress, .declined, warning("ADDRESS_MISMATCH", "Address mismatch", "The proof of address does not match the expected address."))
        case .declineNFCChipNotVerified:
            return (.nfc, .declined, warning("NFC_CHIP_NOT_VERIFIED", "Chip not verified", "The document chip's signature could not be verified."))
        case .declineDatabaseNoMatch:
            return (.databaseValidation, .declined, warning("NO_MATCH_FOUND", "No database match", "No authoritative record matches the person."))
        case .reviewAMLPossibleMatch:
            return (.aml, .inReview, warning("POSSIBLE_MATCH_FOUND", "Possible AML match", "The screening found a possible match that needs review.", "medium"))
        case .reviewFaceMatchBorderline:
            return (.faceMatch, .inReview, warning("LOW_FACE_MATCH_SIMILARITY", "Borderline face match", "The similarity is near the threshold.", "medium"))
        case .reviewPOAPartialMatch:
            return (.proofOfAddress, .inReview, warning("PARTIAL_ADDRESS_MATCH", "Partial address match", "The address matches only in part.", "medium"))
        case .declineKYBRegistryMismatch:
            return (.kybRegistry, .declined, warning("REGISTRY_MISMATCH", "Registry mismatch", "The company's registry record does not match the details given."))
        }
    }

    /// Every node's result for this scenario, or nil when the workflow has no
    /// node the scenario needs.
    public func results(for nodes: [WorkflowNode]) -> [(nodeID: String, status: NodeStatus, warnings: [SessionWarning])]? {
        guard let target else { return nodes.map { ($0.nodeID, .approved, []) } }
        guard let index = nodes.firstIndex(where: { $0.feature == target.feature }) else { return nil }
        return nodes.enumerated().map { offset, node in
            offset == index ? (node.nodeID, target.status, [target.warning]) : (node.nodeID, .approved, [])
        }
    }
}
