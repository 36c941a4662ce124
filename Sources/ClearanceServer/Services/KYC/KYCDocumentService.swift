import Crypto
import Foundation
import SQLKit
import ClearanceDomain
import ClearanceStore

/// Documents of draft versions: upload and delete under the user's lock,
/// audited by id, type and digest (never the name or the bytes).
extension KYCService {
    public func addDocument(
        versionID: String, upload: KYCDocumentRules.Upload, principal: Principal, requestID: String?, now: Date
    ) async throws -> KYCDocumentRecord {
        try await store.database.transaction { sql in
            let (user, version) = try await lockedVersion(versionID, principal: principal, on: sql)
            if let refusal = KYCReviewMachine.draftRefusal(version.status) { throw refusal.apiError }
            let document = KYCDocumentRecord(
                id: KYCIdentifier.document.make(now: now), versionID: version.id, userID: user.id, type: upload.type.rawValue,
                fileName: upload.fileName, mimeType: upload.mime.rawValue, size: upload.bytes.count,
                sha256: SHA256.hash(data: upload.bytes).hexString, createdAt: now)
            try await store.kyc.insertDocument(document, content: upload.bytes, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc.document.added", subjectType: "kyc_document", subjectID: document.id,
                    after: [
                        "version_id": .string(version.id), "type": .string(document.type), "mime_type": .string(document.mimeType),
                        "size": .int(Int64(document.size)), "sha256": .string(document.sha256),
                    ],
                    requestID: requestID),
                at: now, on: sql)
            return document
        }
    }

    /// Nil when there is no such document for this caller.
    public func deleteDocument(id: String, principal: Principal, requestID: String?, now: Date) async throws -> Bool {
        try await store.database.transaction { sql in
            guard let found = try await store.kyc.document(id: id, on: sql), found.1 == principal.environment else { return false }
            let (_, version) = try await lockedVersion(found.0.versionID, principal: principal, on: sql)
            if let refusal = KYCReviewMachine.draftRefusal(version.status) { throw refusal.apiError }
            try await store.kyc.deleteDocument(id: id, on: sql)
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc.document.deleted", subjectType: "kyc_document", subjectID: id,
                    before: ["version_id": .string(version.id), "sha256": .string(found.0.sha256)], requestID: requestID),
                at: now, on: sql)
            return true
        }
    }

    /// The bytes, with an audit entry naming who read them.
    public func readDocument(_ document: KYCDocumentRecord, principal: Principal, requestID: String?, now: Date) async throws -> Data {
        let content = try await store.kyc.documentContent(document)
        try await store.database.transaction { sql in
            try await store.audit.append(
                AuditEvent(
                    actor: principal.actor, action: "kyc.document.downloaded", subjectType: "kyc_document", subjectID: document.id,
                    requestID: requestID),
                at: now, on: sql)
        }
        return content
    }
}
