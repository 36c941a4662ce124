import Foundation
import Testing
import ClearanceDomain

@Suite("Timestamp milliseconds")
struct TimestampMillisecondTests {
    /// Every millisecond of a second shows as itself (formatting the Double
    /// fraction showed some one lower), and before 1970 too.
    @Test(arguments: [Int64(1_795_000_000_000), 4_083_436_800_000, -1_000])
    func everyMillisecondRoundTrips(_ base: Int64) {
        for offset in Int64(0)..<1000 {
            let ms = base + offset
            let text = Timestamp.iso8601(milliseconds: ms)
            #expect(text.hasSuffix(String(format: ".%03dZ", Int(((ms % 1000) + 1000) % 1000))), "\(ms) → \(text)")
            #expect(Timestamp.parse(text).map(Timestamp.milliseconds) == ms, "\(ms) → \(text)")
        }
        #expect(Timestamp.iso8601(milliseconds: -1) == "1969-12-31T23:59:59.999Z")
    }
}
