import Foundation
import ClearanceDomain
import ClearanceStore

/// The sessions dialect's answers, built as JSON values so that every key is
/// present (`null`, `[]`) exactly as the `didit-sdk` models expect.
enum SessionViews {
    static func url(_ session: SessionRecord, publicURL: String) -> String {
        "\(publicURL)/verify/\(session.token)"
    }

    static func time(_ date: Date) -> JSONValue { .string(Timestamp.iso8601(date)) }
    static func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }

    static func resubmitInfo(_ session: SessionRecord, workflow: Workflow?) -> JSONValue {
        let max = workflow?.settings.maxResubmitAttempts ?? 0
        return [
            "nodes": .array(session.resubmit.nodes.map(JSONValue.string)),
            "available_attempts": .int(Int64(Swift.max(0, max - session.resubmit.attemptsUsed))),
            "max_attempts": .int(Int64(max)),
        ]
    }

    /// `POST /v3/session/` and `GET /v3/session/{id}/`.
    static func resource(_ session: SessionRecord, workflow: Workflow?, publicURL: String) -> JSONValue {
        [
            "session_id": .string(session.id),
            "session_number": .int(session.number),
            "session_token": .string(session.token),
            "url": .string(url(session, publicURL: publicURL)),
            "status": .string(session.status.rawValue),
            "workflow_id": .string(session.workflowID),
            "workflow_version": .int(Int64(session.workflowVersion)),
            "vendor_data": optional(session.vendorData),
            "callback": optional(session.callback),
            "callback_method": optional(session.callbackMethod),
            "metadata": session.metadata ?? .null,
            "language": optional(session.language),
            "session_kind": .string(session.kind.rawValue),
            "expires_at": time(session.expiresAt),
            "created_at": time(session.createdAt),
            "updated_at": time(session.updatedAt),
            "resubmit_info": resubmitInfo(session, workflow: workflow),
        ]
    }

    /// One item of `GET /v3/sessions/`.
    static func listItem(_ session: SessionRecord, publicURL: String) -> JSONValue {
        [
            "session_id": .string(session.id),
            "session_number": .int(session.number),
            "status": .string(session.status.rawValue),
            "url": .string(url(session, publicURL: publicURL)),
            "workflow_id": .string(session.workflowID),
            "vendor_data": optional(session.vendorData),
            "callback": optional(session.callback),
            "country": optional(session.country),
            "session_kind": .string(session.kind.rawValue),
            "created_at": time(session.createdAt),
            "updated_at": time(session.updatedAt),
        ]
    }

    static let userArrays: [Feature] = [
        .ocr, .nfc, .liveness, .faceMatch, .proofOfAddress, .phoneVerification, .emailVerification, .aml, .ipAnalysis,
        .databaseValidation, .questionnaire, .documentAI, .ageEstimation,
    ]
    static let businessArrays: [Feature] = [.kybRegistry, .kybDocuments, .kybKeyPeople]

    /// `GET /v3/session/{id}/decision/`: everything about the session.
    static func decision(
        _ session: SessionRecord, nodes: [SessionNodeRecord], reviews: [SessionReviewRecord], workflow: Workflow?,
        publicURL: String
    ) -> JSONValue {
        var object: [String: JSONValue] = [
            "session_id": .string(session.id),
            "session_number": .int(session.number),
            "session_kind": .string(session.kind.rawValue),
            "session_url": .string(url(session, publicURL: publicURL)),
            "status": .string(session.status.rawValue),
            "workflow_id": .string(session.workflowID),
            "workflow_version": .int(Int64(session.workflowVersion)),
            "vendor_data": optional(session.vendorData),
            "metadata": session.metadata ?? .null,
            "callback": optional(session.callback),
            "contact_details": session.personal.contactDetails ?? .null,
            "expected_details": session.personal.expectedDetails ?? .null,
            "created_at": time(session.createdAt),
            "updated_at": time(session.updatedAt),
            "expires_at": time(session.expiresAt),
            "resubmit_info": resubmitInfo(session, workflow: workflow),
            "reviews": .array(reviews.map(review)),
            "warnings": .array(nodes.flatMap { node in node.warnings.map { warningWithNode($0, node) } }),
        ]
        let features = session.kind == .business ? userArrays + businessArrays : userArrays
        for feature in features {
            // A feature that has not run is [] (never null).
            let items = nodes.filter { $0.feature == feature && $0.status != .notStarted }.map(item)
            object[feature.decisionKey] = .array(items)
        }
        return .object(object)
    }

    static func item(_ node: SessionNodeRecord) -> JSONValue {
        var members = node.data.objectValue ?? [:]
        members["node_id"] = .string(node.nodeID)
        members["status"] = .string(node.status.rawValue)
        members["warnings"] = .array(node.warnings.map(\.json))
        return .object(members)
    }

    static func warningWithNode(_ warning: SessionWarning, _ node: SessionNodeRecord) -> JSONValue {
        var members = warning.json.objectValue ?? [:]
        members["node_id"] = .string(node.nodeID)
        members["feature"] = .string(node.feature.rawValue)
        return .object(members)
    }

    static func review(_ review: SessionReviewRecord) -> JSONValue {
        [
            "actor": .string(review.actor),
            "reviewed_by": .string(review.actor),
            "previous_status": .string(review.previousStatus.rawValue),
            "new_status": .string(review.newStatus.rawValue),
            "comment": optional(review.comment),
            "decision_reason": optional(review.comment),
            "created_at": time(review.createdAt),
        ]
    }
}
