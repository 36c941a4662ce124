import Foundation
import SQLKit
import ClearanceDomain

/// Documents of KYC versions: name and bytes sealed with the user's key.
extension KYCRepository {
    static func contentContext(_ id: String) -> String { "kyc_documents.content:\(id)" }
    static func fileNameContext(_ id: String) -> String { "kyc_documents.file_name:\(id)" }

    public func insertDocument(_ document: KYCDocumentRecord, content: Data, on sql: any SQLDatabase) async throws {
        let subject = try await subjectSealer(document.userID, on: sql)
        try await sql.raw("""
            INSERT INTO kyc_documents (id, version_id, user_id, type, file_name_sealed, mime_type, size, sha256, content_sealed, created_at)
            VALUES (\(bind: document.id), \(bind: document.versionID), \(bind: document.userID), \(bind: document.type),
            \(bind: try subject.seal(string: document.fileName, context: Self.fileNameContext(document.id))),
            \(bind: document.mimeType), \(bind: document.size), \(bind: document.sha256),
            \(bind: try subject.seal(content, context: Self.contentContext(document.id))), \(bind: Timestamp.milliseconds(document.createdAt)))
            """).run()
    }

    static let documentColumns = "d.id, d.version_id, d.user_id, d.type, d.file_name_sealed, d.mime_type, d.size, d.sha256, d.created_at, u.wrapped_key AS user_key, u.environment AS user_environment"

    public func documents(versionID: String, on sql: (any SQLDatabase)? = nil) async throws -> [KYCDocumentRecord] {
        @Sendable func load(_ sql: any SQLDatabase) async throws -> [KYCDocumentRecord] {
            try await sql.raw("""
                SELECT \(unsafeRaw: Self.documentColumns) FROM kyc_documents d JOIN kyc_users u ON u.id = d.user_id
                WHERE d.version_id = \(bind: versionID) ORDER BY d.created_at, d.id
                """).all().map { try documentRecord($0) }
        }
        if let sql { return try await load(sql) }
        return try await database.read(load)
    }

    /// A document with its user's environment.
    public func document(id: String, on sql: (any SQLDatabase)? = nil) async throws -> (KYCDocumentRecord, KeyEnvironment)? {
        @Sendable func load(_ sql: any SQLDatabase) async throws -> (KYCDocumentRecord, KeyEnvironment)? {
            guard let row = try await sql.raw("""
                SELECT \(unsafeRaw: Self.documentColumns) FROM kyc_documents d JOIN kyc_users u ON u.id = d.user_id WHERE d.id = \(bind: id)
                """).first(),
                let environment = KeyEnvironment(rawValue: try row.decode(column: "user_environment", as: String.self))
            else { return nil }
            return (try documentRecord(row), environment)
        }
        if let sql { return try await load(sql) }
        return try await database.read(load)
    }

    /// The opened bytes of one document.
    public func documentContent(_ document: KYCDocumentRecord) async throws -> Data {
        try await database.read { sql in
            guard let sealed = try await sql.raw("SELECT content_sealed FROM kyc_documents WHERE id = \(bind: document.id)")
                .first()?.decode(column: "content_sealed", as: Data.self)
            else { throw StoreError.corrupt("kyc document \(document.id)") }
            return try await subjectSealer(document.userID, on: sql).open(sealed, context: Self.contentContext(document.id))
        }
    }

    public func deleteDocument(id: String, on sql: any SQLDatabase) async throws {
        try await sql.raw("DELETE FROM kyc_documents WHERE id = \(bind: id)").run()
    }

    /// Copies every document of one version onto another of the same user,
    /// each under a new id (the sealing context names the id). Answers how many.
    public func copyDocuments(from source: String, to target: String, userID: String, now: Date, on sql: any SQLDatabase) async throws -> Int {
        let subject = try await subjectSealer(userID, on: sql)
        let originals = try await documents(versionID: source, on: sql)
        for document in originals {
            guard let sealed = try await sql.raw("SELECT content_sealed FROM kyc_documents WHERE id = \(bind: document.id)")
                .first()?.decode(column: "content_sealed", as: Data.self)
            else { continue }
            var copy = document
            copy.id = KYCIdentifier.document.make(now: now)
            copy.versionID = target
            try await insertDocument(copy, content: try subject.open(sealed, context: Self.contentContext(document.id)), on: sql)
        }
        return originals.count
    }

    func documentRecord(_ row: any SQLRow) throws -> KYCDocumentRecord {
        let id = try row.decode(column: "id", as: String.self)
        let userID = try row.decode(column: "user_id", as: String.self)
        let subject = try sealer.openSubjectKey(try row.decode(column: "user_key", as: Data.self), context: Self.keyContext(userID))
        return KYCDocumentRecord(
            id: id, versionID: try row.decode(column: "version_id", as: String.self), userID: userID,
            type: try row.decode(column: "type", as: String.self),
            fileName: try subject.openString(try row.decode(column: "file_name_sealed", as: Data.self), context: Self.fileNameContext(id)),
            mimeType: try row.decode(column: "mime_type", as: String.self), size: try row.decode(column: "size", as: Int.self),
            sha256: try row.decode(column: "sha256", as: String.self),
            createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }
}
