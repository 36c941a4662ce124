import Foundation
import Testing
import ClearanceStore
import ClearanceTestSupport

@Suite("Idempotency storage")
struct IdempotencyRepositoryTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func claim(_ hash: String = "h1", at: Date, key: String = "k1") -> IdempotencyClaim {
        IdempotencyClaim(principalID: "key:p", key: key, requestHash: hash, now: at, lease: 60, retention: 24 * 3600)
    }

    @Test func firstRunsThenReplaysThenRefusesOtherRequests() async throws {
        try await TestDatabase.withStore { store, _ in
            let repository = store.idempotency
            let first = claim(at: t0)
            #expect(try await repository.begin(first) == .proceed)
            #expect(try await repository.begin(claim(at: t0)) == .inFlight)
            #expect(try await repository.begin(claim("h2", at: t0)) == .mismatch)
            let response = StoredResponse(status: 201, contentType: "application/json", body: Data(#"{"a":"é"}"#.utf8))
            try await repository.complete(first, response: response)
            #expect(try await repository.begin(claim(at: t0.addingTimeInterval(3600))) == .replay(response))
            #expect(try await repository.begin(claim("h2", at: t0)) == .mismatch)
            // Keys are per caller and per key text.
            #expect(try await repository.begin(claim(at: t0, key: "k2")) == .proceed)
        }
    }

    @Test func aReleasedOrAbandonedClaimCanBeRetaken() async throws {
        try await TestDatabase.withStore { store, _ in
            let repository = store.idempotency
            let first = claim(at: t0)
            #expect(try await repository.begin(first) == .proceed)
            try await repository.release(first)
            #expect(try await repository.begin(claim("h2", at: t0)) == .proceed)
            // The runner died: after the lease another request may take over.
            #expect(try await repository.begin(claim("h2", at: t0.addingTimeInterval(30))) == .inFlight)
            #expect(try await repository.begin(claim("h2", at: t0.addingTimeInterval(61))) == .proceed)
        }
    }

    @Test func storedResponsesExpireAfterTheirRetention() async throws {
        try await TestDatabase.withStore { store, _ in
            let repository = store.idempotency
            let first = claim(at: t0)
            _ = try await repository.begin(first)
            try await repository.complete(first, response: StoredResponse(status: 200, contentType: nil, body: Data()))
            #expect(try await repository.begin(claim("h9", at: t0.addingTimeInterval(24 * 3600 + 1))) == .proceed)
            try await repository.purgeExpired(now: t0.addingTimeInterval(3 * 24 * 3600))
            #expect(try await repository.begin(claim("h9", at: t0.addingTimeInterval(3 * 24 * 3600))) == .proceed)
        }
    }

    @Test func concurrentFirstRequestsLetExactlyOneProceed() async throws {
        try await TestDatabase.withStore { store, _ in
            let outcomes = try await withThrowingTaskGroup(of: IdempotencyBegin.self) { group in
                for _ in 0..<10 { group.addTask { try await store.idempotency.begin(claim(at: t0, key: "race")) } }
                return try await group.reduce(into: [IdempotencyBegin]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .proceed }.count == 1)
            #expect(outcomes.filter { $0 == .inFlight }.count == 9)
        }
    }

    /// A change committed with the key marked applied, then the process died
    /// before the answer was stored: after the lease the key is not retaken.
    @Test func anAppliedKeyIsNeverRunAgain() async throws {
        try await TestDatabase.withStore { store, _ in
            let repository = store.idempotency
            let first = claim(at: t0)
            #expect(try await repository.begin(first) == .proceed)
            try await store.database.transaction { sql in try await repository.markApplied(first, answer: nil, on: sql) }
            #expect(try await repository.begin(claim(at: t0.addingTimeInterval(30))) == .inFlight, "its runner may still store the answer")
            #expect(try await repository.begin(claim(at: t0.addingTimeInterval(61))) == .appliedAnswerLost)
            #expect(try await repository.begin(claim("h2", at: t0.addingTimeInterval(61))) == .mismatch)
            // The answer rendered inside the change's transaction is what a retry gets.
            let second = claim(at: t0, key: "k2")
            #expect(try await repository.begin(second) == .proceed)
            let answer = StoredResponse(status: 201, contentType: "application/json", body: Data(#"{"id":1}"#.utf8))
            try await store.database.transaction { sql in try await repository.markApplied(second, answer: answer, on: sql) }
            #expect(try await repository.begin(claim(at: t0.addingTimeInterval(61), key: "k2")) == .replay(answer))
        }
    }

    /// A request whose lease lapsed while it ran, and whose key another
    /// request then took: its change rolls back instead of committing beside
    /// the other's, and it can neither answer nor free the key.
    @Test func aClaimRetakenAfterItsLeaseCommitsNothing() async throws {
        try await TestDatabase.withStore { store, _ in
            let repository = store.idempotency
            let slow = claim(at: t0)
            #expect(try await repository.begin(slow) == .proceed)
            let retry = claim(at: t0.addingTimeInterval(61))
            #expect(try await repository.begin(retry) == .proceed)
            let scope = IdempotencyScope(claim: slow, repository: repository)
            await #expect(throws: IdempotencyClaimLost.self) {
                try await scope.run {
                    try await store.database.transaction { sql in
                        _ = try await store.settings.insertIfAbsent("late_change", value: "1", at: t0, on: sql)
                    }
                }
            }
            #expect(try await store.settings.get("late_change") == nil, "the late change rolled back")
            try await repository.release(slow)
            try await repository.complete(slow, response: StoredResponse(status: 200, contentType: nil, body: Data()))
            #expect(try await repository.begin(claim(at: t0.addingTimeInterval(62))) == .inFlight, "the retry still holds the key")
        }
    }

    /// Every transaction run inside a request's scope marks its key, on
    /// either engine (SQLite runs transaction bodies in its writer's task).
    @Test func transactionsInsideAScopeMarkTheKey() async throws {
        try await TestDatabase.withStore { store, _ in
            let repository = store.idempotency
            let first = claim(at: t0)
            #expect(try await repository.begin(first) == .proceed)
            let scope = IdempotencyScope(claim: first, repository: repository)
            #expect(!scope.mayHaveApplied)
            try await scope.run {
                try await store.database.transaction { sql in
                    _ = try await store.settings.insertIfAbsent("change", value: "1", at: t0, on: sql)
                }
            }
            #expect(scope.mayHaveApplied)
            #expect(try await repository.begin(claim(at: t0.addingTimeInterval(61))) == .appliedAnswerLost)
        }
    }
}
