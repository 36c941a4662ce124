import Foundation
import SQLKit
import Testing
import ClearanceDomain
@testable import ClearanceStore
import ClearanceTestSupport

@Suite("Audit trail storage")
struct AuditTrailTests {
    struct Injected: Error {}

    func append(_ store: Store, _ count: Int, subject: String = "s1") async throws {
        for index in 0..<count {
            try await store.database.transaction { sql in
                try await store.audit.append(
                    AuditEvent(
                        actor: "key:k", action: "thing.changed", subjectType: "thing", subjectID: subject,
                        before: ["n": .int(Int64(index))], after: ["n": .int(Int64(index + 1))], comment: "c\(index)",
                        requestID: "r\(index)"),
                    at: Date(), on: sql)
            }
        }
    }

    @Test func appendsChainAndVerify() async throws {
        try await TestDatabase.withStore { store, _ in
            try await append(store, 3, subject: "a")
            try await append(store, 2, subject: "b")
            let verification = try await store.audit.verify()
            #expect(verification.isIntact)
            #expect(verification.checked == 5)
            let (total, items) = try await store.audit.entries(subjectID: "b", limit: 10, offset: 0)
            #expect(total == 2)
            #expect(items.map(\.sequence) == [4, 5])
            #expect(items[0].before == ["n": 0])
        }
    }

    @Test func anEntryRollsBackWithItsTransaction() async throws {
        try await TestDatabase.withStore { store, _ in
            try await append(store, 1)
            await #expect(throws: Injected.self) {
                try await store.database.transaction { sql in
                    try await store.audit.append(
                        AuditEvent(actor: "key:k", action: "x", subjectType: "thing", subjectID: "s1"), at: Date(),
                        on: sql)
                    throw Injected()
                }
            }
            let (total, _) = try await store.audit.entries(subjectID: nil, limit: 10, offset: 0)
            #expect(total == 1)
            try await append(store, 1)
            #expect(try await store.audit.verify() == AuditVerification(checked: 2, problem: nil))
        }
    }

    @Test func concurrentAppendsKeepOneChain() async throws {
        try await TestDatabase.withStore { store, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask { try await append(store, 5, subject: "w\(worker)") }
                }
                try await group.waitForAll()
            }
            #expect(try await store.audit.verify() == AuditVerification(checked: 40, problem: nil))
        }
    }

    /// 120 transactions at once (on SQLite they share group-committed
    /// batches, which hand the head from one to the next): each appends two
    /// entries, every fourth then fails. The chain holds exactly the others'
    /// entries, in one unbroken line, and the head row names its end.
    @Test func failedTransactionsLeaveNoLinkInTheChain() async throws {
        try await TestDatabase.withStore { store, _ in
            let committed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for number in 0..<120 {
                    group.addTask {
                        do {
                            try await store.database.transaction { sql in
                                for step in 0..<2 {
                                    try await store.audit.append(
                                        AuditEvent(actor: "key:k", action: "step\(step)", subjectType: "thing", subjectID: "t\(number)"),
                                        at: Date(), on: sql)
                                }
                                // After the appends, like a change refused at its end.
                                if number % 4 == 0 { TransactionScope.current!.beforeCommit { _ in throw Injected() } }
                            }
                            return true
                        } catch is Injected {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(committed == 90)
            #expect(try await store.audit.verify() == AuditVerification(checked: 180, problem: nil))
            let head = try await store.database.read { sql in
                try await sql.raw("SELECT sequence FROM audit_head WHERE id = 1").first()!.decode(column: "sequence", as: Int.self)
            }
            #expect(head == 180)
        }
    }

    @Test func anAlteredRowIsDetected() async throws {
        try await TestDatabase.withStore { store, _ in
            try await append(store, 4)
            try await store.database.transaction { sql in
                try await sql.update("audit_log").set("comment", to: "rewritten").where("sequence", .equal, 2).run()
            }
            #expect(try await store.audit.verify().problem == .altered(sequence: 2))
        }
    }

    @Test func aDeletedRowIsDetected() async throws {
        try await TestDatabase.withStore { store, _ in
            try await append(store, 4)
            try await store.database.transaction { sql in
                try await sql.delete(from: "audit_log").where("sequence", .equal, 3).run()
            }
            #expect(try await store.audit.verify().problem == .missing(afterSequence: 2, found: 4))
        }
    }

    @Test func aDeletedNewestRowIsDetected() async throws {
        try await TestDatabase.withStore { store, _ in
            try await append(store, 4)
            try await store.database.transaction { sql in
                try await sql.delete(from: "audit_log").where("sequence", .equal, 4).run()
            }
            let problem = try await store.audit.verify().problem
            guard case .headMismatch = problem else {
                Issue.record("expected a head mismatch, got \(String(describing: problem))")
                return
            }
        }
    }
}

@Suite("Transactions")
struct TransactionTests {
    /// A cancelled caller never leaves a half-written transaction or a
    /// connection stuck inside one: on both engines a transaction once
    /// started runs to its end in a task of its own (the SQLite writer's, or
    /// one per PostgreSQL transaction), so a worker stopped mid-way still
    /// records what it did.
    @Test func aCancelledCallerLeavesAllOrNothingAndAUsableDatabase() async throws {
        try await TestDatabase.withStore { store, _ in
            let task = Task {
                try await store.database.transaction { sql in
                    _ = try await store.settings.insertIfAbsent("first", value: "x", at: Date(), on: sql)
                    try? await Task.sleep(for: .milliseconds(300))
                    try Task.checkCancellation()
                    _ = try await store.settings.insertIfAbsent("second", value: "y", at: Date(), on: sql)
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            task.cancel()
            _ = try? await task.value
            let first = try await store.settings.get("first")
            let second = try await store.settings.get("second")
            #expect(first == "x" && second == "y", "the body ran to its end, though its caller was cancelled")
            try await store.settings.set("after", value: "z")
            #expect(try await store.settings.get("after") == "z")
        }
    }

    @Test func aFailingTransactionInABatchRollsBackAlone() async throws {
        struct Refused: Error {}
        try await TestDatabase.withStore { store, _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        do {
                            try await store.database.transaction { sql in
                                _ = try await store.settings.insertIfAbsent("k\(index)", value: "v", at: Date(), on: sql)
                                if index % 3 == 0 { throw Refused() }
                            }
                        } catch is Refused {}
                    }
                }
                try await group.waitForAll()
            }
            for index in 0..<20 {
                #expect((try await store.settings.get("k\(index)") == nil) == (index % 3 == 0), "k\(index)")
            }
        }
    }
}
