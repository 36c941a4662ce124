import SQLKit

/// Verification sessions, their nodes, reviews and per-session data keys
/// (deleting a session's key crypto-shreds its personal data).
struct M0006_CreateSessions: Migration {
    let version = 6
    let name = "create_sessions"

    func apply(on sql: any SQLDatabase, kind: DatabaseKind) async throws {
        try await sql.create(table: "counters")
            .column("name", type: .text, .primaryKey(autoIncrement: false))
            .column("value", type: .bigint, .notNull)
            .run()
        try await sql.insert(into: "counters").columns("name", "value").values(SQLBind("session_number"), SQLBind(0)).run()

        try await sql.create(table: "sessions")
            .column("session_id", type: .text, .primaryKey(autoIncrement: false))
            .column("session_number", type: .bigint, .notNull, .unique)
            .column("environment", type: .text, .notNull)
            .column("kind", type: .text, .notNull)
            .column("workflow_id", type: .text, .notNull)
            .column("workflow_version", type: .int, .notNull)
            .column("status", type: .text, .notNull)
            .column("vendor_data", type: .text)
            .column("callback", type: .text)
            .column("callback_method", type: .text)
            .column("metadata_json", type: .text)
            .column("language", type: .text)
            .column("session_token", type: .text, .notNull, .unique)
            .column("country", type: .text)
            .column("personal_sealed", type: .blob)
            .column("search_tokens", type: .text)
            .column("resubmit_json", type: .text, .notNull)
            .column("sandbox_scenario", type: .text)
            .column("document_expires_at", type: .bigint)
            .column("expires_at", type: .bigint, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .column("deleted_at", type: .bigint)
            .column("last_no_user_resubmit_at", type: .bigint)
            .column("event_sequence", type: .bigint, .notNull)
            .run()
        // Listing newest first, with or without a status filter.
        try await sql.create(index: "sessions_by_number").on("sessions")
            .column("environment").column("kind").column("session_number").run()
        try await sql.create(index: "sessions_by_status").on("sessions")
            .column("environment").column("status").column("session_number").run()
        // Reuse by vendor_data.
        try await sql.create(index: "sessions_by_vendor").on("sessions")
            .column("environment").column("vendor_data").column("workflow_id").run()
        // Sweeps: partial, so a status change between decided statuses does
        // not touch them. The WHERE texts match the sweep queries exactly
        // (SQLite uses a partial index only then).
        try await sql.raw("""
            CREATE INDEX sessions_expiry ON sessions (expires_at)
            WHERE status IN ('Not Started','In Progress','Resubmitted') AND deleted_at IS NULL
            """).run()
        try await sql.raw("""
            CREATE INDEX sessions_document_expiry ON sessions (document_expires_at)
            WHERE status = 'Approved' AND deleted_at IS NULL
            """).run()

        try await sql.create(table: "session_nodes")
            .column("session_id", type: .text, .notNull, .references("sessions", "session_id"))
            .column("node_id", type: .text, .notNull)
            .column("position", type: .int, .notNull)
            .column("feature", type: .text, .notNull)
            .column("status", type: .text, .notNull)
            .column("data_sealed", type: .blob)
            .column("warnings_json", type: .text, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .primaryKey("session_id", "node_id")
            .run()

        try await sql.create(table: "session_reviews")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("session_id", type: .text, .notNull, .references("sessions", "session_id"))
            .column("actor", type: .text, .notNull)
            .column("previous_status", type: .text, .notNull)
            .column("new_status", type: .text, .notNull)
            .column("comment", type: .text)
            .column("sequence", type: .bigint, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .run()
        try await sql.create(index: "session_reviews_by_session").on("session_reviews")
            .column("session_id").column("sequence").run()

        // Live counts per (environment, kind, status), kept in the same
        // transaction as every change, so an unfiltered or status-only list
        // answers `count` without counting rows.
        try await sql.create(table: "session_counts")
            .column("environment", type: .text, .notNull)
            .column("kind", type: .text, .notNull)
            .column("status", type: .text, .notNull)
            .column("count", type: .bigint, .notNull)
            .primaryKey("environment", "kind", "status")
            .run()
        for environment in ["live", "sandbox"] {
            for sessionKind in ["user", "business"] {
                // The statuses as of this migration; a later status adds its rows in its own migration.
                for status in [
                    "Not Started", "In Progress", "In Review", "Approved", "Declined", "Resubmitted", "Awaiting User",
                    "Expired", "Abandoned", "Kyc Expired",
                ] {
                    try await sql.insert(into: "session_counts").columns("environment", "kind", "status", "count")
                        .values(SQLBind(environment), SQLBind(sessionKind), SQLBind(status), SQLBind(0)).run()
                }
            }
        }

        try await sql.create(table: "session_keys")
            .column("session_id", type: .text, .primaryKey(autoIncrement: false))
            .column("wrapped_key", type: .blob, .notNull)
            .run()
    }
}
