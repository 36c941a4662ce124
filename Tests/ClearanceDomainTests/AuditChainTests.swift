import Testing
@testable import ClearanceDomain

@Suite("Audit chain")
struct AuditChainTests {
    func chain(_ count: Int) -> [AuditRecord] {
        var head = AuditChain.Head.empty
        var records: [AuditRecord] = []
        for index in 0..<count {
            let record = AuditChain.append(
                after: head, id: "id\(index)", at: Int64(index), actor: "key:k", action: "thing.changed",
                subjectType: "thing", subjectID: "t\(index % 3)", before: ["status": "a"], after: ["status": "b"],
                comment: index == 1 ? "ünïcode comment" : nil, requestID: "r\(index)")
            records.append(record)
            head = .init(sequence: record.sequence, hash: record.hash)
        }
        return records
    }

    func verify(_ records: [AuditRecord], head: AuditChain.Head) -> AuditChain.Problem? {
        var verifier = AuditChain.Verifier()
        for record in records {
            if let problem = verifier.check(record) { return problem }
        }
        return verifier.finish(recordedHead: head)
    }

    func head(of records: [AuditRecord]) -> AuditChain.Head {
        records.last.map { .init(sequence: $0.sequence, hash: $0.hash) } ?? .empty
    }

    @Test func anIntactChainVerifies() {
        let records = chain(5)
        #expect(records.first?.prevHash == AuditChain.genesisHash)
        #expect(records.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(verify(records, head: head(of: records)) == nil)
        #expect(verify([], head: .empty) == nil)
    }

    @Test func anAlteredFieldIsDetected() {
        var records = chain(5)
        let intactHead = head(of: records)
        records[2].after = ["status": "approved"]
        #expect(verify(records, head: intactHead) == .altered(sequence: 3))
    }

    @Test func aRehashedAlterationBreaksTheNextLink() {
        var records = chain(5)
        let intactHead = head(of: records)
        records[2].actor = "key:attacker"
        records[2] = records[2].sealed()
        #expect(verify(records, head: intactHead) == .brokenLink(sequence: 4))
    }

    @Test func aDeletedMiddleEntryIsDetected() {
        var records = chain(5)
        let intactHead = head(of: records)
        records.remove(at: 1)
        #expect(verify(records, head: intactHead) == .missing(afterSequence: 1, found: 3))
    }

    @Test func deletedNewestEntriesAreCaughtByTheHead() {
        var records = chain(5)
        let intactHead = head(of: records)
        records.removeLast(2)
        #expect(verify(records, head: intactHead) == .headMismatch(expected: intactHead, found: head(of: records)))
    }

    @Test func everyFieldIsCoveredByTheHash() {
        let original = chain(1)[0]
        var variants: [AuditRecord] = []
        var copy = original
        copy.id = "other"; variants.append(copy); copy = original
        copy.at += 1; variants.append(copy); copy = original
        copy.action = "x"; variants.append(copy); copy = original
        copy.subjectType = "x"; variants.append(copy); copy = original
        copy.subjectID = "x"; variants.append(copy); copy = original
        copy.before = nil; variants.append(copy); copy = original
        copy.comment = "x"; variants.append(copy); copy = original
        copy.requestID = nil; variants.append(copy); copy = original
        copy.prevHash = String(repeating: "1", count: 64); variants.append(copy)
        for variant in variants { #expect(variant.computedHash != original.hash) }
    }
}
