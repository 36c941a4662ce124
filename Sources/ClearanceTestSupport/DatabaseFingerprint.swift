import Crypto
import ClearanceDomain
import SQLKit
import ClearanceStore

/// Every table's row count and a digest of its rows, in one query: what "a
/// refused request wrote nothing" is checked against. Rows are compared
/// whole, so an update shows as well as an insert or a delete.
/// `api_keys.last_used_at` is left out: a valid key refused for lacking a
/// grant was still used, and the server records that (at most once a minute).
public struct DatabaseFingerprint: Equatable, Sendable {
    public static let ignoredColumns: Set<String> = ["last_used_at"]

    /// Table name → (rows, SHA-256 of the rows in a stable order).
    public var tables: [String: Table]

    public struct Table: Equatable, Sendable {
        public var rows: Int
        public var digest: String
    }

    /// The tables whose rows differ from `other`'s, for a failure message.
    public func changes(since other: DatabaseFingerprint) -> [String] {
        Set(tables.keys).union(other.tables.keys).sorted().compactMap { name in
            guard tables[name] != other.tables[name] else { return nil }
            return "\(name): \(other.tables[name]?.rows ?? 0) → \(tables[name]?.rows ?? 0) rows"
        }
    }

    /// The query that takes a fingerprint of this database, built once per
    /// database from its catalog (the schema does not change under a test).
    public struct Query: Sendable {
        let kind: DatabaseKind
        let text: String

        public static func prepare(_ database: any Database) async throws -> Query {
            let text: String = try await database.read { sql in
                switch database.kind {
                case .postgres:
                    let names = try await sql.raw(
                        """
                        SELECT table_name AS name FROM information_schema.tables
                        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name
                        """
                    ).all().map { try $0.decode(column: "name", as: String.self) }
                    let ignored = ignoredColumns.map { " - '\($0)'" }.joined()
                    return names.map { name in
                        let row = "(to_jsonb(x)\(ignored))::text"
                        return "SELECT '\(name)' AS t, count(*) AS n, "
                            + "coalesce(md5(string_agg(\(row), '|' ORDER BY \(row))), '') AS d FROM \"\(name)\" x"
                    }.joined(separator: " UNION ALL ")
                case .sqlite:
                    let names = try await sql.raw("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                        .all().map { try $0.decode(column: "name", as: String.self) }
                    var parts: [String] = []
                    for name in names {
                        let columns = try await sql.raw("SELECT name FROM pragma_table_info(\(bind: name)) ORDER BY cid")
                            .all().map { try $0.decode(column: "name", as: String.self) }
                            .filter { !ignoredColumns.contains($0) }
                        let row = columns.map { "quote(\"\($0)\")" }.joined(separator: " || ',' || ")
                        parts.append(
                            "SELECT '\(name)' AS t, count(*) AS n, coalesce(group_concat(r, '|'), '') AS d "
                                + "FROM (SELECT \(row) AS r FROM \"\(name)\" ORDER BY r)")
                    }
                    return parts.joined(separator: " UNION ALL ")
                }
            }
            return Query(kind: database.kind, text: text)
        }

        public func take(_ database: any Database) async throws -> DatabaseFingerprint {
            let rows = try await database.read { sql in try await sql.raw(SQLQueryString(text)).all() }
            var tables: [String: Table] = [:]
            for row in rows {
                let content = try row.decode(column: "d", as: String.self)
                tables[try row.decode(column: "t", as: String.self)] = Table(
                    rows: try row.decode(column: "n", as: Int.self),
                    digest: kind == .postgres ? content : SHA256.hash(data: Array(content.utf8)).hexString)
            }
            return DatabaseFingerprint(tables: tables)
        }
    }
}

extension TestServer {
    /// A fingerprint of this server's whole database (see `DatabaseFingerprint`).
    public func fingerprint(_ query: DatabaseFingerprint.Query) async throws -> DatabaseFingerprint {
        try await query.take(store.database)
    }
}
