import Foundation
import NIOConcurrencyHelpers
import SQLKit

/// A hot-path statement: fixed text with `?` for each value, and its values.
///
/// Why: a status change runs a dozen statements, and building each through
/// SQLKit (an interpolated `SQLQueryString`, then serializing it fragment by
/// fragment and casting every bind back from `any Encodable`) cost more of
/// the server's time than SQLite took to run them: 6 % of a status change,
/// measured with perf. On SQLite's writer (`DirectSQLiteDatabase`) this text
/// is the prepared-statement cache key and the values bind as they are; on
/// PostgreSQL and SQLite's readers it serializes through SQLKit as before.
/// The text must not hold a `?` other than the placeholders.
struct FixedQuery: SQLExpression {
    let text: String
    let values: [DirectSQLiteValue]

    init(_ text: String, _ values: [DirectSQLiteValue] = []) {
        self.text = text
        self.values = values
    }

    func serialize(to serializer: inout SQLSerializer) {
        var values = self.values.makeIterator()
        var first = true
        for piece in text.split(separator: "?", omittingEmptySubsequences: false) {
            if !first {
                switch values.next() {
                case .null, nil: serializer.write("NULL")
                case .integer(let number): serializer.write(bind: number)
                case .real(let number): serializer.write(bind: number)
                case .text(let text): serializer.write(bind: text)
                case .blob(let bytes): serializer.write(bind: Data(bytes))
                }
            }
            serializer.write(String(piece))
            first = false
        }
    }
}

extension DirectSQLiteValue {
    /// For optional values; `.null` when absent.
    static func text(_ text: String?) -> Self { text.map { .text($0) } ?? .null }
    static func integer(_ number: Int64?) -> Self { number.map { .integer($0) } ?? .null }
    static func blob(_ data: Data?) -> Self { data.map { .blob(Array($0)) } ?? .null }
}

extension SQLDatabase {
    /// Runs a fixed statement, ignoring rows.
    func run(_ query: FixedQuery) async throws {
        try await execute(sql: query) { _ in }
    }

    /// Every row of a fixed statement.
    func all(_ query: FixedQuery) async throws -> [any SQLRow] {
        let rows = NIOLockedValueBox<[any SQLRow]>([])
        try await execute(sql: query) { row in rows.withLockedValue { $0.append(row) } }
        return rows.withLockedValue { $0 }
    }

    /// The first row of a fixed statement, if any.
    func first(_ query: FixedQuery) async throws -> (any SQLRow)? {
        let row = NIOLockedValueBox<(any SQLRow)?>(nil)
        try await execute(sql: query) { next in
            row.withLockedValue { if $0 == nil { $0 = next } }
        }
        return row.withLockedValue { $0 }
    }
}
