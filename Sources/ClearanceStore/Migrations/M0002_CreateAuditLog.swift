import SQLKit
import ClearanceDomain

/// The hash-chained audit trail and its head: one row that every append
/// updates in the same transaction, which both serializes appends (a row
/// lock on PostgreSQL) and lets `audit verify` notice removed newest rows.
struct M0002_CreateAuditLog: Migration {
    let version = 2
    let name = "create_audit_log"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "audit_log")
            .column("sequence", type: .bigint, .primaryKey(autoIncrement: false))
            .column("id", type: .text, .notNull, .unique)
            .column("at", type: .bigint, .notNull)
            .column("actor", type: .text, .notNull)
            .column("action", type: .text, .notNull)
            .column("subject_type", type: .text, .notNull)
            .column("subject_id", type: .text, .notNull)
            .column("before_json", type: .text)
            .column("after_json", type: .text)
            .column("comment", type: .text)
            .column("request_id", type: .text)
            .column("prev_hash", type: .text, .notNull)
            .column("hash", type: .text, .notNull)
            .run()
        try await sql.create(index: "audit_log_subject").on("audit_log").column("subject_id").column("sequence").run()

        try await sql.create(table: "audit_head")
            .column("id", type: .int, .primaryKey(autoIncrement: false))
            .column("sequence", type: .bigint, .notNull)
            .column("hash", type: .text, .notNull)
            .run()
        try await sql.insert(into: "audit_head").columns("id", "sequence", "hash")
            .values(SQLBind(1), SQLBind(0), SQLBind(AuditChain.genesisHash)).run()
    }
}
