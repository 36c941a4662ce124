import Foundation
import Testing
@testable import ClearanceDomain
import Crypto

@Suite("KYC rules")
struct KYCRulesTests {
    /// 2026-05-24T10:00:00Z.
    static let now = Timestamp.parse("2026-05-24T10:00:00Z")!

    /// Which action each status allows: A = allowed, else the DALP id of the refusal.
    static let machine: [(KYCVersionStatus, [KYCReviewAction: String])] = [
        (.draft, [.approve: "DALP-0388", .reject: "DALP-0390", .requestUpdate: "DALP-0415"]),
        (.underReview, [.approve: "A", .reject: "A", .requestUpdate: "A"]),
        (.approved, [.approve: "DALP-0388", .reject: "DALP-0390", .requestUpdate: "DALP-0415"]),
        (.rejected, [.approve: "DALP-0388", .reject: "DALP-0390", .requestUpdate: "DALP-0415"]),
        (.superseded, [.approve: "DALP-0388", .reject: "DALP-0390", .requestUpdate: "DALP-0415"]),
    ]

    @Test func theMachineCoversEveryStatus() {
        #expect(Set(Self.machine.map(\.0)) == Set(KYCVersionStatus.allCases))
    }

    @Test(arguments: KYCVersionStatus.allCases)
    func everyActionFromEveryStatus(_ status: KYCVersionStatus) throws {
        let row = try #require(Self.machine.first { $0.0 == status }?.1)
        for action in KYCReviewAction.allCases {
            let refusal = KYCReviewMachine.refusal(action, status: status)
            if row[action] == "A" {
                #expect(refusal == nil, "\(action) from \(status)")
            } else {
                #expect(refusal?.dalpID == row[action], "\(action) from \(status)")
                #expect(refusal?.kind == .conflict)
            }
        }
    }

    @Test func missingVersionsAnswerTheActionsOwnID() {
        #expect(KYCReviewMachine.missing(.approve).dalpID == "DALP-0388")
        #expect(KYCReviewMachine.missing(.reject).dalpID == "DALP-0390")
        #expect(KYCReviewMachine.missing(.requestUpdate).dalpID == "DALP-0419")
        #expect(KYCReviewAction.allCases.allSatisfy { KYCReviewMachine.missing($0).kind == .notFound })
    }

    @Test func fourEyesStopsOnlyTheSubmitterApproving() {
        #expect(KYCReviewMachine.refusal(.approve, status: .underReview, fourEyes: true, submittedBy: "key:a", actor: "key:a")?.kind == .forbidden)
        #expect(KYCReviewMachine.refusal(.approve, status: .underReview, fourEyes: true, submittedBy: "key:a", actor: "key:b") == nil)
        #expect(KYCReviewMachine.refusal(.approve, status: .underReview, fourEyes: false, submittedBy: "key:a", actor: "key:a") == nil)
        #expect(KYCReviewMachine.refusal(.reject, status: .underReview, fourEyes: true, submittedBy: "key:a", actor: "key:a") == nil)
    }

    @Test func onlyDraftsAreEditable() {
        for status in KYCVersionStatus.allCases {
            #expect((KYCReviewMachine.draftRefusal(status) == nil) == (status == .draft))
        }
    }

    /// (field, input, stored value or nil when refused).
    static let fieldCases: [(KYCFields.Name, String, String?)] = [
        (.firstName, "  Ada  ", "Ada"),
        (.firstName, String(repeating: "a", count: 64), String(repeating: "a", count: 64)),
        (.firstName, String(repeating: "a", count: 65), nil),
        (.firstName, "   ", nil),
        (.firstName, "", nil),
        (.lastName, "Lovelace\u{0}", nil),
        (.lastName, " " + String(repeating: "é", count: 64) + " ", String(repeating: "é", count: 64)),
        (.dob, "2008-05-24", "2008-05-24"),
        (.dob, "2008-05-25", nil),
        (.dob, "2009-01-01", nil),
        (.dob, "1899-12-31", nil),
        (.dob, "2000-02-30", nil),
        (.dob, "24/05/2000", nil),
        (.dob, "2000-5-1", nil),
        (.country, "DE", "DE"),
        (.country, "de", nil),
        (.country, "XX", nil),
        (.country, "DEU", nil),
        (.residencyStatus, "resident", "resident"),
        (.residencyStatus, "dual_resident", "dual_resident"),
        (.residencyStatus, "Resident", nil),
        (.residencyStatus, "citizen", nil),
        (.nationalId, " X123 ", "X123"),
        (.nationalId, "     ", nil),
        (.nationalId, String(repeating: "9", count: 50), String(repeating: "9", count: 50)),
        (.nationalId, String(repeating: "9", count: 51), nil),
    ]

    @Test(arguments: 0..<fieldCases.count)
    func fieldRule(_ index: Int) {
        let (name, input, expected) = Self.fieldCases[index]
        switch KYCFieldRules.check(name, input, now: Self.now) {
        case .success(let value): #expect(value == expected, "\(name) \(input)")
        case .failure(let issue):
            #expect(expected == nil, "\(name) \(input) refused: \(issue.message)")
            #expect(issue.path == name.rawValue)
        }
    }

    @Test func seventeenYearsAgoIsRefused() {
        let calendar = Calendar(identifier: .gregorian)
        var utc = calendar
        utc.timeZone = TimeZone(identifier: "UTC")!
        let seventeen = utc.date(byAdding: .year, value: -17, to: Self.now)!
        let text = String(Timestamp.iso8601(seventeen).prefix(10))
        #expect(throws: FieldIssue.self) { try KYCFieldRules.check(.dob, text, now: Self.now).get() }
    }

    @Test func editsApplyAllOrNothingAndNullClears() throws {
        let base = KYCFields([.firstName: "Ada", .country: "GB"])
        let edited = try KYCFieldRules.apply([.firstName: nil, .lastName: "Lovelace"], to: base, now: Self.now).get()
        #expect(edited == KYCFields([.lastName: "Lovelace", .country: "GB"]))
        let refused = KYCFieldRules.apply([.lastName: "Byron", .country: "gb", .dob: "x"], to: base, now: Self.now)
        guard case .failure(let failure) = refused else { Issue.record("accepted bad input"); return }
        #expect(Set(failure.issues.map(\.path)) == ["country", "dob"])
    }

    @Test func submissionNeedsEveryField() {
        let partial = KYCFields([.firstName: "Ada"])
        #expect(Set(KYCFieldRules.submissionIssues(partial, now: Self.now).map(\.path)) == ["lastName", "dob", "country", "residencyStatus", "nationalId"])
        let full = KYCFields([.firstName: "Ada", .lastName: "L", .dob: "1990-01-01", .country: "GB", .residencyStatus: "resident", .nationalId: "X1"])
        #expect(KYCFieldRules.submissionIssues(full, now: Self.now).isEmpty)
    }

    @Test(arguments: [
        ("123456789", false), ("  123456789  ", false), ("1234567890", true), (" 1234567890 ", true), ("", false),
    ])
    func reasonsNeedTenCharactersAfterTrimming(_ text: String, _ ok: Bool) {
        let result = KYCReviewRules.reason(text, path: "reason")
        if case .success = result { #expect(ok) } else { #expect(!ok) }
        #expect((try? KYCReviewRules.reason(nil, path: "reason").get()) == nil)
    }

    @Test func requiredFieldsVocabulary() throws {
        #expect(try KYCReviewRules.requiredFields(["proof_of_address", "dob", "passport"]).get() == ["proof_of_address", "dob", "passport"])
        guard case .failure(let failure) = KYCReviewRules.requiredFields(["dob", "shoeSize", "dob"]) else {
            Issue.record("accepted unknown field"); return
        }
        #expect(failure.issues.map(\.path) == ["requiredFields[1]", "requiredFields[2]"])
        #expect(KYCReviewRules.requiredFieldVocabulary.count == 11)
    }

    @Test func dueAtMustBeAFutureInstant() throws {
        #expect(try KYCReviewRules.dueAt("2026-06-01T00:00:00.000Z", now: Self.now).get() == Timestamp.parse("2026-06-01T00:00:00Z"))
        #expect(try KYCReviewRules.dueAt(nil, now: Self.now).get() == nil)
        // Milliseconds survive the round trip (a Double fraction would floor .420 to .419).
        let due = try #require(try KYCReviewRules.dueAt("2026-11-29T19:22:45.420Z", now: Self.now).get())
        #expect(Timestamp.iso8601(due) == "2026-11-29T19:22:45.420Z")
        for bad in ["2026-05-24T09:59:59Z", "2026-05-24T10:00:00Z", "tomorrow", "2026-13-01T00:00:00Z", "2026-06-01"] {
            #expect(throws: FieldIssue.self, "\(bad)") { try KYCReviewRules.dueAt(bad, now: Self.now).get() }
        }
    }

    @Test func idsArePrefixedLowerCaseULIDs() {
        let id = KYCIdentifier.version.make(now: Self.now)
        #expect(id.hasPrefix("kycv_") && id.count == 31 && id == id.lowercased())
        #expect(KYCIdentifier.version.matches(id))
        #expect(KYCIdentifier.version.matches(id.uppercased().replacingOccurrences(of: "KYCV_", with: "kycv_")))
        #expect(!KYCIdentifier.user.matches(id))
        #expect(!KYCIdentifier.version.matches("kycv_01hzt7n4submittedversion"))
        #expect(!KYCIdentifier.version.matches("kycv_81hzt7n4submittedversi0"))
        #expect(!KYCIdentifier.version.matches("kycv_"))
        // Time first: later ids sort after earlier ones.
        let later = KYCIdentifier.version.make(now: Self.now.addingTimeInterval(1))
        #expect(later > id)
        // Known vector: time 0x0190_0000_0000, randomness all ones.
        let vector = KYCIdentifier.user.make(milliseconds: 0x0190_0000_0000, random: [UInt8](repeating: 0xFF, count: 10))
        #expect(vector == "usr_01j0000000zzzzzzzzzzzzzzzz")
    }

    @Test func contentHashIgnoresDocumentOrderButNotContent() {
        let fields = KYCFields([.firstName: "Ada", .country: "GB"])
        let a = KYCContentHash.Document(type: "passport", sha256: "aa")
        let b = KYCContentHash.Document(type: "proof_of_address", sha256: "bb")
        let hash = KYCContentHash.compute(fields: fields, documents: [a, b])
        #expect(hash == KYCContentHash.compute(fields: fields, documents: [b, a]))
        #expect(hash != KYCContentHash.compute(fields: fields, documents: [a]))
        #expect(hash != KYCContentHash.compute(fields: KYCFields([.firstName: "Ada", .country: "DE"]), documents: [a, b]))
        #expect(hash.hasPrefix("0x") && hash.count == 66)
    }

    @Test func countryListIsTheAssignedSet() {
        #expect(ISO3166.alpha2.count == 249)
        #expect(ISO3166.alpha2.contains("SS") && !ISO3166.alpha2.contains("UK") && !ISO3166.alpha2.contains("EU"))
    }
}

@Suite("KYC document rules")
struct KYCDocumentRulesTests {
    static let pdf = Data("%PDF-1.7\n%âãÏÓ\n1 0 obj".utf8)
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])
    static let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 0x4A, 0x46])
    static let webp = Data("RIFF\u{10}\0\0\0WEBPVP8 ".utf8)

    @Test(arguments: KYCDocumentRules.MIME.allCases)
    func eachSignatureMatchesOnlyItsOwnType(_ mime: KYCDocumentRules.MIME) {
        let samples: [KYCDocumentRules.MIME: Data] = [.pdf: Self.pdf, .png: Self.png, .jpeg: Self.jpeg, .webp: Self.webp]
        for (other, bytes) in samples { #expect(mime.matches(bytes) == (other == mime), "\(mime) vs \(other)") }
        #expect(!mime.matches(Data()))
        #expect(KYCDocumentRules.MIME.sniff(samples[mime]!) == mime)
    }

    @Test func aWAVIsNotAWebP() {
        #expect(!KYCDocumentRules.MIME.webp.matches(Data("RIFF\u{10}\0\0\0WAVEfmt ".utf8)))
    }

    func paths(_ result: Result<KYCDocumentRules.Upload, ValidationFailure>) -> [String] {
        if case .failure(let failure) = result { return failure.issues.map(\.path) }
        return []
    }

    @Test func uploadChecks() throws {
        let ok = try KYCDocumentRules.check(type: "passport", fileName: " scan.png ", mimeType: "image/png", fileData: Self.png.base64EncodedString()).get()
        #expect(ok.fileName == "scan.png" && ok.bytes == Self.png && ok.mime == .png)
        #expect(paths(KYCDocumentRules.check(type: "passport", fileName: "a.pdf", mimeType: "application/pdf", fileData: Self.png.base64EncodedString())) == ["fileData"])
        #expect(paths(KYCDocumentRules.check(type: "selfie", fileName: "", mimeType: "image/gif", fileData: "***")) == ["type", "fileName", "mimeType", "fileData"])
        #expect(paths(KYCDocumentRules.check(type: "other", fileName: "../x.pdf", mimeType: "application/pdf", fileData: Self.pdf.base64EncodedString())) == ["fileName"])
        #expect(paths(KYCDocumentRules.check(type: "other", fileName: "x.pdf", mimeType: "application/pdf", fileData: "")) == ["fileData"])
        var big = Self.pdf
        big.append(Data(count: KYCDocumentRules.maxBytes + 1 - big.count))
        #expect(paths(KYCDocumentRules.check(type: "other", fileName: "x.pdf", mimeType: "application/pdf", fileData: big.base64EncodedString())) == ["fileData"])
        big.removeLast()
        #expect(paths(KYCDocumentRules.check(type: "other", fileName: "x.pdf", mimeType: "application/pdf", fileData: big.base64EncodedString())) == [])
    }
}

@Suite("EdDSA JWS")
struct EdDSAJWSTests {
    /// RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
    @Test func thumbprintMatchesRFC8037() throws {
        let x = try #require(Base64URL.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
        let key = try Curve25519.Signing.PublicKey(rawRepresentation: x)
        #expect(EdDSAJWS.thumbprint(key) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
        #expect(EdDSAJWS.jwk(key)["x"]?.stringValue == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
    }

    @Test func signedTokensVerifyAndTamperedOnesDoNot() throws {
        let key = Curve25519.Signing.PrivateKey()
        let other = Curve25519.Signing.PrivateKey()
        let claims = KYCAttestationClaims.make(
            id: "kyca_x", userID: "usr_x", versionID: "kycv_x", contentHash: "0xabc", issuer: "http://c.test",
            issuedAt: Date(timeIntervalSince1970: 1_800_000_000), expiresAt: Date(timeIntervalSince1970: 1_900_000_000))
        let token = try EdDSAJWS.sign(claims, with: key)
        #expect(EdDSAJWS.verify(token, keys: [other.publicKey, key.publicKey]) == claims)
        #expect(EdDSAJWS.verify(token, keys: [other.publicKey]) == nil)
        var parts = token.split(separator: ".").map(String.init)
        parts[1] = Base64URL.encode(JSONValue.object(["sub": "usr_y"]).canonicalBytes)
        #expect(EdDSAJWS.verify(parts.joined(separator: "."), keys: [key.publicKey]) == nil)
        #expect(claims["topic"]?.stringValue == "knowYourCustomer" && claims["iat"] == .int(1_800_000_000))
    }
}
