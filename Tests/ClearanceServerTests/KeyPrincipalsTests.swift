import Foundation
import Testing
import ClearanceDomain
import ClearanceStore
@testable import ClearanceServer

@Suite("Key principals: built once per version of a key's record")
struct KeyPrincipalsTests {
    func record(privileges: [Privilege], revokedAt: Date? = nil) -> APIKeyRecord {
        APIKeyRecord(
            id: "key1", lookupID: "0123456789abcdef", secretHash: "h", displayPrefix: "clr_live_012345", name: "ci",
            environment: .live, privileges: privileges, roles: [], createdAt: Date(timeIntervalSince1970: 0), createdBy: nil,
            expiresAt: nil, revokedAt: revokedAt)
    }

    @Test func aChangedRecordGetsAFreshPrincipal() {
        let principals = KeyPrincipals()
        let (first, actor) = principals.resolve(record(privileges: [.readSessions]))
        #expect(first.privileges == [.readSessions])
        #expect(actor == "key:key1")
        #expect(principals.resolve(record(privileges: [.readSessions])).0 == first)
        // Same key id, other privileges: not the principal built before.
        let (changed, _) = principals.resolve(record(privileges: [.readSessions, .writeSessions]))
        #expect(changed.privileges == [.readSessions, .writeSessions])
        #expect(principals.resolve(record(privileges: [.readSessions])).0.privileges == [.readSessions])
    }
}
