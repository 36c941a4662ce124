import NIOConcurrencyHelpers
import SQLKit

/// Work a task asks of every transaction it runs, on the transaction's
/// connection, after its body and before what the body left for COMMIT (the
/// live counts, then the audit append): so it commits, or rolls back, with
/// the body's writes. Its one user is a request's `Idempotency-Key`
/// (`IdempotencyScope`): the key's outcome commits with the change.
protocol CommitHook: Sendable {
    /// Runs inside the transaction with what its body returned; answers what
    /// to do once the COMMIT is known to have succeeded (and, on SQLite, is
    /// durable). Throwing rolls the transaction back.
    func beforeCommit(result: any Sendable, on sql: any SQLDatabase) async throws -> (@Sendable () -> Void)?
}

enum CommitHooks {
    @TaskLocal static var current: (any CommitHook)?

    /// Runs `transaction` with `body` followed by the calling task's hook.
    /// The hook is read here, in the caller's task: the SQLite writer runs
    /// bodies in its own task, where the caller's task-locals do not reach.
    static func around<T: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> T,
        transaction: (@escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T
    ) async throws -> T {
        guard let hook = current else { return try await transaction(body) }
        let afterCommit = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)
        let value = try await transaction { sql in
            let value = try await body(sql)
            let then = try await hook.beforeCommit(result: value, on: sql)
            afterCommit.withLockedValue { $0 = then }
            return value
        }
        afterCommit.withLockedValue { $0 }?()
        return value
    }
}
