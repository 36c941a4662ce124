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
            #expect(try await repository.begin(claim(at: t0)) == .proceed)
            #expect(try await repository.begin(claim(at: t0)) == .inFlight)
            #expect(try await repository.begin(claim("h2", at: t0)) == .mismatch)
            let response = StoredResponse(status: 201, contentType: "application/json", body: Data(#"{"a":"é"}"#.utf8))
            try await repository.complete(claim(at: t0), response: response)
            #expect(try await repository.begin(claim(at: t0.addingTimeInterval(3600))) == .replay(response))
            #expect(try await repository.begin(claim("h2", at: t0)) == .mismatch)
            // Keys are per caller and per key text.
            #expect(try await repository.begin(claim(at: t0, key: "k2")) == .proceed)
        }
    }

    @Test func aReleasedOrAbandonedClaimCanBeRetaken() async throws {
        try await TestDatabase.withStore { store, _ in
            let repository = store.idempotency
            #expect(try await repository.begin(claim(at: t0)) == .proceed)
            try await repository.release(claim(at: t0))
            #expect(try await repository.begin(claim("h2", at: t0)) == .proceed)
            // The runner died: after the lease another request may take over.
            #expect(try await repository.begin(claim("h2", at: t0.addingTimeInterval(30))) == .inFlight)
            #expect(try await repository.begin(claim("h2", at: t0.addingTimeInterval(61))) == .proceed)
        }
    }

    @Test func storedResponsesExpireAfterTheirRetention() async throws {
        try await TestDatabase.withStore { store, _ in
            let repository = store.idempotency
            _ = try await repository.begin(claim(at: t0))
            try await repository.complete(claim(at: t0), response: StoredResponse(status: 200, contentType: nil, body: Data()))
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
}
