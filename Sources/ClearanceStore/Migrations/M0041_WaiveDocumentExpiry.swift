import SQLKit

/// Approved sessions on a workflow version that allows expired documents
/// keep their approval when the document expires. The `Kyc Expired` sweep
/// marks such a session the first time it meets it, and its query (through
/// this index, whose WHERE text it repeats) never returns it again: before,
/// 200 of them at the head of the queue were picked and skipped on every
/// pass and the sessions behind them were never expired. A workflow
/// version is never edited, so the mark never goes stale. Sessions without
/// a document expiry are left out of the index too: an approval without one
/// (most) then changes status without touching it.
struct M0041_WaiveDocumentExpiry: Migration {
    let version = 41
    let name = "waive_document_expiry"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.alter(table: "sessions").column("document_expiry_waived", type: .custom(SQLRaw("BOOLEAN"))).run()
        try await sql.raw("DROP INDEX sessions_document_expiry").run()
        try await sql.raw("""
            CREATE INDEX sessions_document_expiry_due ON sessions (document_expires_at)
            WHERE status = 'Approved' AND deleted_at IS NULL AND document_expiry_waived IS NULL
            AND document_expires_at IS NOT NULL
            """).run()
    }
}
