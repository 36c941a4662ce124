import Testing
@testable import ClearanceDomain

@Suite("API key tokens")
struct APIKeyTokenTests {
    @Test func generatedTokenParsesBackToItself() throws {
        for environment in KeyEnvironment.allCases {
            let token = APIKeyToken.generate(environment: environment)
            #expect(token.text.hasPrefix("clr_\(environment.rawValue)_"))
            #expect(APIKeyToken(text: token.text) == token)
            #expect(token.matches(storedHash: token.secretHash))
        }
    }

    @Test func theSecretMayHoldUnderscores() throws {
        let text = "clr_sandbox_0123456789abcdef_" + String(repeating: "_a", count: 21) + "b"
        let token = try #require(APIKeyToken(text: text))
        #expect(token.environment == .sandbox)
        #expect(token.lookupID == "0123456789abcdef")
        #expect(token.secret == String(repeating: "_a", count: 21) + "b")
        #expect(token.text == text)
    }

    @Test func secretsCarryAtLeast256Bits() {
        let token = APIKeyToken.generate(environment: .live)
        #expect(Base64URL.decode(token.secret)?.count == 32)
        #expect(APIKeyToken.generate(environment: .live).secret != token.secret)
    }

    @Test(arguments: [
        "", "clr_live", "clr_prod_0123456789abcdef_" + String(repeating: "a", count: 43),
        "clr_live_0123456789abcdeg_" + String(repeating: "a", count: 43),
        "clr_live_0123456789abcdef_" + String(repeating: "a", count: 42),
        "xyz_live_0123456789abcdef_" + String(repeating: "a", count: 43),
        "clr_live_0123456789ABCDEF_" + String(repeating: "a", count: 43),
        "clr_live_0123456789abcde_f" + String(repeating: "a", count: 43),
        "clr_live_0123456789abcdef_" + String(repeating: "é", count: 43),
        "clr_live_0123456789abcdef" + String(repeating: "a", count: 44),
    ])
    func malformedTextIsRejected(_ text: String) {
        #expect(APIKeyToken(text: text) == nil)
    }

    @Test func aDifferentSecretDoesNotMatch() {
        let token = APIKeyToken.generate(environment: .live)
        var other = token
        other.secret = APIKeyToken.generate(environment: .live).secret
        #expect(!other.matches(storedHash: token.secretHash))
    }

    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([], []))
    }
}

@Suite("Principals")
struct PrincipalTests {
    @Test func adminHoldsEveryPrivilegeAndRole() {
        let admin = Principal(id: "a", name: "a", environment: .live, privileges: [], roles: [.admin])
        for privilege in Privilege.allCases { #expect(admin.has(privilege)) }
        for role in Role.allCases { #expect(admin.has(role)) }
    }

    @Test func othersHoldOnlyWhatTheyWereGiven() {
        let reader = Principal(
            id: "r", name: "r", environment: .sandbox, privileges: [.readSessions], roles: [.claimIssuer])
        #expect(reader.has(.readSessions))
        #expect(!reader.has(.writeSessions))
        #expect(reader.has(.claimIssuer))
        #expect(!reader.has(.identityManager))
        #expect(reader.hasAny(of: [.identityManager, .claimIssuer]))
        #expect(!reader.hasAny(of: [.systemManager]))
        #expect(reader.actor == "key:r")
    }
}
