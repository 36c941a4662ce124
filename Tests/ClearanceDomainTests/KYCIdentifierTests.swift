import Foundation
import Testing
import ClearanceDomain

@Suite("KYC identifiers")
struct KYCIdentifierTests {
    /// The case folding was `byte | 0x20` on every byte, which turned the
    /// control characters 0x10…0x19 into the digits 0…9: `usr_` and 26 of
    /// them passed as an id. Only A–Z fold now, as the document's pattern
    /// (`^usr_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$`) says.
    @Test func controlCharactersAreNotDigits() {
        #expect(!KYCIdentifier.user.matches("usr_" + String(repeating: "\u{10}", count: 26)))
        #expect(!KYCIdentifier.user.matches("usr_0" + String(repeating: "\u{19}", count: 25)))
        #expect(KYCIdentifier.user.matches("usr_0" + String(repeating: "Z", count: 25)))
        #expect(KYCIdentifier.user.matches("usr_7" + String(repeating: "z", count: 25)))
        #expect(!KYCIdentifier.user.matches("usr_8" + String(repeating: "z", count: 25)))
        for excluded in ["i", "l", "o", "u", "I", "L", "O", "U"] {
            #expect(!KYCIdentifier.user.matches("usr_0" + String(repeating: excluded, count: 25)), "\(excluded)")
        }
    }
}
