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

    /// The hashed bytes are canonical JSON of the fields (keys sorted, no
    /// spaces), as Python's `json.dumps(sort_keys=True, separators=(",", ":"),
    /// ensure_ascii=False)` writes them: pinned, so chains written before stay
    /// verifiable (the hash below is Python's over the same fields).
    @Test func theHashedBytesAreCanonicalJSONOfTheFields() {
        let record = AuditRecord(
            sequence: 7, id: "01JX0000000000000000000000", at: 1_760_000_000_123, actor: "key:abc",
            action: "session.status_changed", subjectType: "session", subjectID: "5f0c1a2b-0000-4000-8000-000000000000",
            before: ["status": "In Review"], after: ["status": "Approved", "n": [1, .null, true]],
            comment: "Zoë \"ok\"\n\t\u{01}", requestID: nil, prevHash: AuditChain.genesisHash)
        #expect(String(decoding: record.canonicalBytes, as: UTF8.self) == #"{"action":"session.status_changed","actor":"key:abc","after":{"n":[1,null,true],"status":"Approved"},"at":1760000000123,"before":{"status":"In Review"},"comment":"Zoë \"ok\"\n\t\u0001","id":"01JX0000000000000000000000","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","request_id":null,"sequence":7,"subject_id":"5f0c1a2b-0000-4000-8000-000000000000","subject_type":"session"}"#)
        #expect(record.computedHash == "5f14f74aa9fbaa4e9995ce15969be356629f866e1c075e5d4e7dafefd560b298")
        // The field-by-field writer and the generic one agree, with and without the optional fields.
        for variant in [record, chain(3)[1], chain(3)[2]] {
            #expect(variant.canonicalBytes == variant.hashedContent.canonicalBytes)
        }
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
