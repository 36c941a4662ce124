import Foundation
import HTTPTypes
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// Documents: base64 upload to a draft, listing, download of the opened
/// bytes (reviewer roles only, each download audited) and deletion from a draft.
struct KYCDocumentRoutes {
    let store: Store
    let clock: ServerClock

    /// A 25 MiB file is about 33.4 MiB of base64: the upload route allows
    /// that much even when the server-wide body limit is lower.
    static let uploadBodyLimit = (KYCDocumentRules.maxBytes / 3 + 1) * 4 + 64 * 1024

    /// `POST /api/v2/kyc-profile-versions/{id}/documents`, for the body-limit middleware.
    static func isUpload(_ request: Request) -> Bool {
        let path = request.uri.path
        return request.method == .post && path.hasPrefix("/api/v2/kyc-profile-versions/") && path.hasSuffix("/documents")
    }

    func register(on group: RouterGroup<ClearanceRequestContext>) {
        group.post("/api/v2/kyc-profile-versions/:versionId/documents", use: upload)
        group.get("/api/v2/kyc-profile-versions/:versionId/documents", use: list)
        group.get("/api/v2/kyc-documents/:documentId/content", use: content)
        group.delete("/api/v2/kyc-documents/:documentId", use: delete)
    }

    var service: KYCService { KYCService(store: store) }

    @Sendable func upload(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: KYCRoutes.reviewerRoles)
        let versionID = try KYCRoutes.versionID(context)
        var request = request
        let upload = try KYCRequests.document(try await request.decodeJSONObject(context: context))
        let document = try await service.addDocument(
            versionID: versionID, upload: upload, principal: principal, requestID: context.requestID, now: clock.now())
        return try KYCRoutes.wrap(KYCViews.document(document), status: .created)
    }

    @Sendable func list(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: KYCRoutes.reviewerRoles)
        guard let found = try await store.kyc.version(id: try KYCRoutes.versionID(context)), found.1 == principal.environment else {
            throw KYCService.versionNotFound
        }
        let documents = try await store.kyc.documents(versionID: found.0.id)
        return try JSONResponse.make(KYCViews.list(documents.map(KYCViews.document), total: documents.count, limit: documents.count, offset: 0))
    }

    func document(_ context: ClearanceRequestContext, _ principal: Principal) async throws -> KYCDocumentRecord {
        guard let id = KYCIdentifier.document.normalize(try context.parameters.require("documentId")),
            let found = try await store.kyc.document(id: id), found.1 == principal.environment
        else { throw APIError.notFound("No KYC document with this id.") }
        return found.0
    }

    @Sendable func content(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: KYCRoutes.reviewerRoles)
        let document = try await document(context, principal)
        let bytes = try await service.readDocument(document, principal: principal, requestID: context.requestID, now: clock.now())
        let safeName = String(document.fileName.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0.value >= 0x20 ? Character($0) : "_" })
        return Response(
            status: .ok,
            headers: [
                .contentType: document.mimeType, .contentDisposition: "attachment; filename=\"\(safeName)\"",
                .cacheControl: "no-store", HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @Sendable func delete(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: KYCRoutes.reviewerRoles)
        guard let id = KYCIdentifier.document.normalize(try context.parameters.require("documentId")),
            try await service.deleteDocument(id: id, principal: principal, requestID: context.requestID, now: clock.now())
        else { throw APIError.notFound("No KYC document with this id.") }
        return Response(status: .noContent)
    }
}
