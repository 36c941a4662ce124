import Foundation
import Testing
import ClearanceStore

@Suite("Row identifiers")
struct IdentifierTests {
    @Test func randomIdsAreVersion4UUIDsInLowerCase() {
        let ids = (0..<1000).map { _ in Identifier.random() }
        #expect(Set(ids).count == 1000)
        for id in ids {
            #expect(UUID(uuidString: id)?.uuidString.lowercased() == id)
            #expect(Array(id)[14] == "4", "version nibble of \(id)")
            #expect("89ab".contains(Array(id)[19]), "variant of \(id)")
        }
    }

    @Test func timeOrderedIdsAreVersion7AndSortByTime() {
        let start = Date(timeIntervalSince1970: 1_795_000_000)
        let ids = (0..<1000).map { Identifier.timeOrdered(at: start.addingTimeInterval(Double($0) / 100)) }
        #expect(Set(ids).count == 1000)
        for id in ids {
            #expect(UUID(uuidString: id)?.uuidString.lowercased() == id)
            #expect(Array(id)[14] == "7", "version nibble of \(id)")
            #expect("89ab".contains(Array(id)[19]), "variant of \(id)")
        }
        // Ids of later milliseconds sort after earlier ones, as text too.
        let byMillisecond = stride(from: 0, to: 1000, by: 10).map { ids[$0] }
        #expect(byMillisecond == byMillisecond.sorted())
        // The first 48 bits are the Unix time in milliseconds (RFC 9562).
        let hex = ids[0].replacingOccurrences(of: "-", with: "").prefix(12)
        #expect(UInt64(hex, radix: 16) == 1_795_000_000_000)
    }

    /// The ids share one pool of random bytes refilled every 256 ids: ids
    /// made by many tasks at once, across many refills, never repeat.
    @Test func idsMadeConcurrentlyAcrossRefillsAreDistinct() async {
        let ids = await withTaskGroup(of: [String].self) { group in
            for task in 0..<8 {
                group.addTask { (0..<2000).map { _ in task % 2 == 0 ? Identifier.random() : Identifier.timeOrdered() } }
            }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(ids.count == 16000)
        #expect(Set(ids).count == 16000)
    }
}
