import Foundation
import ClearanceDomain
import ClearanceStore

/// Plausible result data for sandbox sessions, shaped like each feature's
/// decision item, built from what the integration said to expect.
enum SandboxData {
    static func data(for feature: Feature, scenario: SandboxScenario, personal: SessionPersonalData, now: Date) -> JSONValue {
        let expected = personal.expectedDetails
        func text(_ key: String, _ fallback: String) -> JSONValue { .string(expected?[key]?.stringValue ?? fallback) }
        switch feature {
        case .ocr:
            let expiry = scenario == .declineDocumentExpired
                ? now.addingTimeInterval(-30 * 86400) : now.addingTimeInterval(5 * 365 * 86400)
            let birth = scenario == .declineMinimumAge ? "2012-01-15" : (expected?["date_of_birth"]?.stringValue ?? "1990-05-17")
            return [
                "document_type": "P", "issuing_state": text("id_country", "ESP"), "first_name": text("first_name", "Jane"),
                "last_name": text("last_name", "Sandbox"), "date_of_birth": .string(birth),
                "document_number": "SBX000000", "expiration_date": .string(String(Timestamp.iso8601(expiry).prefix(10))),
            ]
        case .liveness: return ["score": .double(scenario == .declineLivenessAttack ? 0.12 : 0.97), "method": "ACTIVE_3D"]
        case .faceMatch:
            let score = switch scenario {
            case .declineFaceMatchLowSimilarity: 0.21
            case .reviewFaceMatchBorderline: 0.62
            default: 0.94
            }
            return ["score": .double(score)]
        case .aml:
            let hits: Int64 = scenario == .declineAMLHit || scenario == .reviewAMLPossibleMatch ? 1 : 0
            return ["total_hits": .int(hits), "screened_lists": ["sanctions", "pep", "adverse_media"]]
        case .ipAnalysis: return ["ip_address": text("ip_address", "203.0.113.10"), "is_vpn_or_tor": false]
        case .proofOfAddress: return ["address": text("address", "1 Sandbox Street"), "issuing_state": text("poa_country", "ESP")]
        default: return ["sandbox": true]
        }
    }
}
