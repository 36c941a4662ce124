import NIOConcurrencyHelpers
import SQLKit

/// A request holding an `Idempotency-Key` claim while its handler runs.
/// Every transaction the handler commits marks the key in that same
/// transaction (`CommitHook`): applied, or done with the answer when the
/// route said how to render it from the transaction's result (`answer`).
/// So a change can never commit while its key still looks unused, and a
/// retry after a crash between the change's COMMIT and the stored answer
/// replays the answer (or is told the change was applied) instead of
/// running it again.
public final class IdempotencyScope: CommitHook {
    public let claim: IdempotencyClaim
    let repository: any IdempotencyRepository

    private struct State {
        var render: (@Sendable (any Sendable, any SQLDatabase) async throws -> StoredResponse?)?
        var reachedMark = false
        var committedAnswer: StoredResponse?
    }
    private let state = NIOLockedValueBox(State())

    public init(claim: IdempotencyClaim, repository: any IdempotencyRepository) {
        self.claim = claim
        self.repository = repository
    }

    /// The scope of the request this task serves, if it carries a key.
    public static var current: IdempotencyScope? { CommitHooks.current as? IdempotencyScope }

    /// Runs `body` (the handler) with this scope around its transactions.
    public func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await CommitHooks.$current.withValue(self) { try await body() }
    }

    /// How to render the request's answer from the result of the transaction
    /// that makes its change (the first to return a `Value`; an optional
    /// result counts when it is not nil), so the answer commits with it.
    public func answer<Value: Sendable>(with render: @escaping @Sendable (Value, any SQLDatabase) async throws -> StoredResponse) {
        state.withLockedValue {
            $0.render = { result, sql in
                guard let value = result as? Value else { return nil }
                return try await render(value, sql)
            }
        }
    }

    /// A transaction of this request reached its mark: its change may have
    /// committed, so the key must not be freed for another run on a failure
    /// the request cannot tell apart from one after COMMIT.
    public var mayHaveApplied: Bool { state.withLockedValue { $0.reachedMark } }

    /// The answer stored with the change, when one was: nothing is left to
    /// store after the handler.
    public var answerStoredWithChange: StoredResponse? { state.withLockedValue { $0.committedAnswer } }

    func beforeCommit(result: any Sendable, on sql: any SQLDatabase) async throws -> (@Sendable () -> Void)? {
        let (render, answered) = state.withLockedValue { state in
            state.reachedMark = true
            return (state.render, state.committedAnswer != nil)
        }
        // Answered by an earlier transaction of this request: the key is done.
        if answered { return nil }
        let answer = try await render?(result, sql)
        try await repository.markApplied(claim, answer: answer, on: sql)
        guard let answer else { return nil }
        return { [state] in
            state.withLockedValue { state in
                if state.committedAnswer == nil { state.committedAnswer = answer }
            }
        }
    }
}
