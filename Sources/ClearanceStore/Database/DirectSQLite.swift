import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import VaporCSQLite

/// SQLite's writer connection, driven through the C API of the same SQLite
/// library SQLiteNIO links (so file locks stay coherent with the readers).
///
/// Why: SQLiteNIO runs every statement on its thread pool and resumes the
/// caller on another thread. A status change is a dozen statements inside
/// the single-writer lock, and profiling showed the server spending most of
/// its time switching threads (`futex`, `swift_task_enqueue`), not in
/// SQLite. Here a transaction's statements run where the transaction runs,
/// with prepared statements cached, and the writer lock is held only for
/// real work. Reads stay on SQLiteNIO's pool.
final class DirectSQLiteConnection: @unchecked Sendable {
    // Touched only by the holder of the writer lock, one task at a time.
    private let handle: OpaquePointer
    /// A prepared statement with its result columns once known (the same
    /// for every run of it; running DDL clears the cache).
    private struct Statement {
        var statement: OpaquePointer
        var columns: DirectSQLiteRow.Columns?
        var changesSchema: Bool
    }

    /// Prepared statements by SQL text.
    private var statements: [String: Statement] = [:]
    private static let statementCacheLimit = 256

    init(path: String) throws {
        var handle: OpaquePointer?
        // NOMUTEX: one task at a time uses a connection (the writer's drain,
        // or the checkpointer's queue), so SQLite's per-call connection
        // mutex guarded nothing; its lock and unlock were 3 % of the
        // writer's time (perf on the writer alone). Side by side the change
        // measured 0.91–1.12 over eight rounds: within the noise.
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
        let status = sqlite_nio_sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "cannot open"
            if let handle { sqlite_nio_sqlite3_close_v2(handle) }
            throw DirectSQLiteError(code: status, message: message)
        }
        self.handle = handle
    }

    deinit {
        for entry in statements.values { sqlite_nio_sqlite3_finalize(entry.statement) }
        sqlite_nio_sqlite3_close_v2(handle)
    }

    /// Runs one statement, calling `onRow` for each result row.
    func execute(_ sql: String, binds: [DirectSQLiteValue], onRow: (DirectSQLiteRow) -> Void) throws {
        let entry = try prepared(sql)
        try run(sql, entry.statement, entry.columns, binds: binds, onRow: onRow)
        // Statements cached before a schema change may name old columns.
        if entry.changesSchema { clearStatements() }
    }

    private func run(
        _ sql: String, _ statement: OpaquePointer, _ cachedColumns: DirectSQLiteRow.Columns?, binds: [DirectSQLiteValue],
        onRow: (DirectSQLiteRow) -> Void
    ) throws {
        defer {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        for (offset, value) in binds.enumerated() {
            try check(bind(value, at: Int32(offset + 1), in: statement))
        }
        var columns = cachedColumns
        while true {
            let status = sqlite_nio_sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw error(status) }
            let count = sqlite_nio_sqlite3_column_count(statement)
            if columns == nil || columns!.names.count != Int(count) {
                columns = .init((0..<count).map { String(cString: sqlite_nio_sqlite3_column_name(statement, $0)) })
                statements[sql]?.columns = columns
            }
            onRow(DirectSQLiteRow(columns: columns!, values: (0..<count).map { column(statement, $0) }))
        }
    }

    private static func changesSchema(_ sql: String) -> Bool {
        let head = String(decoding: sql.utf8.prefix(6), as: UTF8.self).lowercased()
        return ["create", "alter ", "drop t", "drop i"].contains(head)
    }

    private func clearStatements() {
        for entry in statements.values { sqlite_nio_sqlite3_finalize(entry.statement) }
        statements.removeAll()
    }

    /// The cached statement for `sql`, prepared on first use (only then is
    /// its text looked at).
    private func prepared(_ sql: String) throws -> Statement {
        if let entry = statements[sql] { return entry }
        if statements.count >= Self.statementCacheLimit { clearStatements() }
        var statement: OpaquePointer?
        try check(sqlite_nio_sqlite3_prepare_v2(handle, sql, -1, &statement, nil))
        guard let statement else { throw DirectSQLiteError(code: SQLITE_MISUSE, message: "empty statement") }
        let entry = Statement(statement: statement, columns: nil, changesSchema: Self.changesSchema(sql))
        statements[sql] = entry
        return entry
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func bind(_ value: DirectSQLiteValue, at index: Int32, in statement: OpaquePointer) -> Int32 {
        switch value {
        case .null: return sqlite_nio_sqlite3_bind_null(statement, index)
        case .integer(let number): return sqlite_nio_sqlite3_bind_int64(statement, index, number)
        case .real(let number): return sqlite_nio_sqlite3_bind_double(statement, index, number)
        case .text(let text):
            return sqlite_nio_sqlite3_bind_text64(
                statement, index, text, UInt64(text.utf8.count), Self.transient, UInt8(SQLITE_UTF8))
        case .blob(let bytes):
            return bytes.withUnsafeBytes {
                sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), Self.transient)
            }
        }
    }

    private func column(_ statement: OpaquePointer, _ index: Int32) -> DirectSQLiteValue {
        switch sqlite_nio_sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return .integer(sqlite_nio_sqlite3_column_int64(statement, index))
        case SQLITE_FLOAT: return .real(sqlite_nio_sqlite3_column_double(statement, index))
        case SQLITE_TEXT:
            guard let text = sqlite_nio_sqlite3_column_text(statement, index) else { return .text("") }
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
            guard count > 0, let bytes = sqlite_nio_sqlite3_column_blob(statement, index) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default: return .null
        }
    }

    private func check(_ status: Int32) throws {
        guard status == SQLITE_OK else { throw error(status) }
    }

    private func error(_ status: Int32) -> DirectSQLiteError {
        DirectSQLiteError(code: status, message: String(cString: sqlite_nio_sqlite3_errmsg(handle)))
    }
}

struct DirectSQLiteError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { "sqlite error \(code): \(message)" }
}

enum DirectSQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The SQLite value for a bound Swift value (the types the repositories bind).
    init(binding value: any Encodable) throws {
        // The common types first: a cast to a concrete type is cheap, the
        // optional check below (a protocol conformance lookup) is not. A
        // present optional casts to its wrapped type directly.
        switch value {
        case let text as String: self = .text(text)
        case let number as Int64: self = .integer(number)
        case let number as Int: self = .integer(Int64(number))
        case let flag as Bool: self = .integer(flag ? 1 : 0)
        case let data as Data: self = .blob(Array(data))
        default: try self.init(unwrapping: value)
        }
    }

    private init(unwrapping value: any Encodable) throws {
        var value: Any = value
        // Unwrap optionals, however deep.
        while let optional = value as? any AnyOptional {
            guard let wrapped = optional.wrappedAny else {
                self = .null
                return
            }
            value = wrapped
        }
        switch value {
        case let text as String: self = .text(text)
        case let number as Int: self = .integer(Int64(number))
        case let number as Int64: self = .integer(number)
        case let number as Int32: self = .integer(Int64(number))
        case let number as Double: self = .real(number)
        case let flag as Bool: self = .integer(flag ? 1 : 0)
        case let data as Data: self = .blob(Array(data))
        case let bytes as [UInt8]: self = .blob(bytes)
        default:
            throw DirectSQLiteError(code: SQLITE_MISMATCH, message: "cannot bind a value of type \(type(of: value))")
        }
    }
}

protocol AnyOptional {
    var wrappedAny: Any? { get }
}

extension Optional: AnyOptional {
    var wrappedAny: Any? { self.map { $0 as Any } }
}

struct DirectSQLiteRow: SQLRow {
    /// Column names and their positions, shared by every row of a result.
    final class Columns: Sendable {
        let names: [String]
        let positions: [String: Int]

        init(_ names: [String]) {
            self.names = names
            var positions: [String: Int] = [:]
            for (index, name) in names.enumerated() where positions[name] == nil { positions[name] = index }
            self.positions = positions
        }
    }

    let columns: Columns
    let values: [DirectSQLiteValue]

    var allColumns: [String] { columns.names }

    func contains(column: String) -> Bool { columns.positions[column] != nil }

    func decodeNil(column: String) throws -> Bool {
        try value(column) == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        let value = try value(column)
        // The column types rows are read as, by metadata identity: the
        // generic path below looks up a protocol conformance and casts twice
        // per column (about half of reading a session row, in perf). The
        // bit casts are between identical types.
        if D.self == String.self { return unsafeBitCast(try String(directSQLite: value, column: column), to: D.self) }
        if D.self == String?.self { return unsafeBitCast(try String?(directSQLite: value, column: column), to: D.self) }
        if D.self == Int64.self { return unsafeBitCast(try Int64(directSQLite: value, column: column), to: D.self) }
        if D.self == Int64?.self { return unsafeBitCast(try Int64?(directSQLite: value, column: column), to: D.self) }
        if D.self == Int.self { return unsafeBitCast(try Int(directSQLite: value, column: column), to: D.self) }
        guard let decodable = D.self as? any DirectSQLiteDecodable.Type else {
            throw DecodingError.typeMismatch(D.self, .init(codingPath: [], debugDescription: "unsupported column type \(D.self)"))
        }
        return try decodable.init(directSQLite: value, column: column) as! D
    }

    private func value(_ column: String) throws -> DirectSQLiteValue {
        guard let index = columns.positions[column] else {
            throw DecodingError.keyNotFound(
                SomeKey(column), .init(codingPath: [], debugDescription: "no column \(column)"))
        }
        return values[index]
    }

    struct SomeKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

protocol DirectSQLiteDecodable {
    init(directSQLite value: DirectSQLiteValue, column: String) throws
}

private func mismatch(_ type: Any.Type, _ value: DirectSQLiteValue, _ column: String) -> DecodingError {
    .typeMismatch(type, .init(codingPath: [], debugDescription: "column \(column) holds \(value)"))
}

extension String: DirectSQLiteDecodable {
    init(directSQLite value: DirectSQLiteValue, column: String) throws {
        guard case .text(let text) = value else { throw mismatch(String.self, value, column) }
        self = text
    }
}

extension Int64: DirectSQLiteDecodable {
    init(directSQLite value: DirectSQLiteValue, column: String) throws {
        switch value {
        case .integer(let number): self = number
        case .real(let number) where number == number.rounded(): self = Int64(number)
        default: throw mismatch(Int64.self, value, column)
        }
    }
}

extension Int: DirectSQLiteDecodable {
    init(directSQLite value: DirectSQLiteValue, column: String) throws {
        self = Int(try Int64(directSQLite: value, column: column))
    }
}

extension Double: DirectSQLiteDecodable {
    init(directSQLite value: DirectSQLiteValue, column: String) throws {
        switch value {
        case .real(let number): self = number
        case .integer(let number): self = Double(number)
        default: throw mismatch(Double.self, value, column)
        }
    }
}

extension Bool: DirectSQLiteDecodable {
    init(directSQLite value: DirectSQLiteValue, column: String) throws {
        self = try Int64(directSQLite: value, column: column) != 0
    }
}

extension Data: DirectSQLiteDecodable {
    init(directSQLite value: DirectSQLiteValue, column: String) throws {
        switch value {
        case .blob(let bytes): self = Data(bytes)
        case .text(let text): self = Data(text.utf8)
        default: throw mismatch(Data.self, value, column)
        }
    }
}

extension Optional: DirectSQLiteDecodable where Wrapped: DirectSQLiteDecodable {
    init(directSQLite value: DirectSQLiteValue, column: String) throws {
        if value == .null {
            self = nil
        } else {
            self = try Wrapped(directSQLite: value, column: column)
        }
    }
}

/// SQLKit's view of the direct writer: statements serialize with SQLite's
/// dialect and run synchronously in the calling task.
struct DirectSQLiteDatabase: SQLDatabase {
    let connection: DirectSQLiteConnection
    let logger: Logger
    let eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        eventLoop.makeCompletedFuture { try run(query, onRow) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try run(query, onRow)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> Void) throws {
        if let fixed = query as? FixedQuery {
            return try connection.execute(fixed.text, binds: fixed.values, onRow: onRow)
        }
        let (sql, binds) = serialize(query)
        try connection.execute(sql, binds: try binds.map { try DirectSQLiteValue(binding: $0) }, onRow: onRow)
    }
}
