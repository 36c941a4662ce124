import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import ClearanceDomain
import ClearanceServer
import ClearanceTestSupport

@Suite("KYC documents")
struct KYCDocumentTests {
    static let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3])
    static let pdf = Data("%PDF-1.7\nsecret passport page".utf8)

    static func upload(_ type: String, _ mime: String, _ bytes: Data, name: String = "scan") -> String {
        #"{"type":"\#(type)","fileName":"\#(name)","mimeType":"\#(mime)","fileData":"\#(bytes.base64EncodedString())"}"#
    }

    @Test func uploadListDownloadDeleteAndTheContentHashCoversThem() async throws {
        try await TestServer.with { server in
            let reader = try await server.key(Privilege.allCases, roles: [.systemManager]).key
            try await server.kyc { kyc in
                let userID = try await kyc.createUser()
                let versionID = try #require(try await kyc.createDraft(userID).data["id"] as? String)
                let docs = "/api/v2/kyc-profile-versions/\(versionID)/documents"
                let added = try await kyc.call(.post, docs, Self.upload("passport", "application/pdf", Self.pdf, name: #"pass\"port.pdf"#))
                #expect(added.status == .created, "\(added.json)")
                let documentID = try #require(added.data["id"] as? String)
                #expect(documentID.hasPrefix("kycd_") && added.data["size"] as? Int == Self.pdf.count)
                let bill = try await kyc.call(.post, docs, Self.upload("proof_of_address", "image/png", Self.png))
                let billID = try #require(bill.data["id"] as? String)
                #expect(try await kyc.call(.get, docs).data["total"] as? Int == 2)
                #expect(try await kyc.version(versionID)["documentsCount"] as? Int == 2)
                #expect(try await kyc.call(.delete, "/api/v2/kyc-documents/\(billID)").status == .noContent)
                #expect(try await kyc.call(.delete, "/api/v2/kyc-documents/\(billID)").status == .notFound)

                let download = try await kyc.client.execute(
                    uri: "/api/v2/kyc-documents/\(documentID)/content", method: .get, headers: headers(bearer: kyc.key))
                #expect(download.status == .ok)
                #expect(Data(download.body.readableBytesView) == Self.pdf)
                #expect(download.headers[.contentType] == "application/pdf")
                #expect(download.headers[.contentDisposition] == #"attachment; filename="pass_port.pdf""#)
                // Roles that may not read KYC data may not download.
                let refused = try await kyc.client.execute(
                    uri: "/api/v2/kyc-documents/\(documentID)/content", method: .get, headers: headers(bearer: reader))
                #expect(refused.status == .forbidden)

                let submitted = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(versionID)/submissions")
                let withDocument = try #require(submitted.data["contentHash"] as? String)
                let expected = KYCContentHash.compute(
                    fields: try #require(KYCFields(json: JSONValue(parsing: kyc.json(KYCCaller.person))!)),
                    documents: [.init(type: "passport", sha256: "08eece190155f78548230e2f608e87a702d6fa93d833e74b860d4fb69cd4859c")])  // sha256sum of the PDF bytes
                #expect(withDocument == expected)
                // Documents and their deletion need a draft.
                let late = try await kyc.call(.post, docs, Self.upload("other", "image/png", Self.png))
                #expect(late.status == .conflict && late.json["code"] as? String == "KYC_VERSION_NOT_DRAFT")
                #expect(try await kyc.call(.delete, "/api/v2/kyc-documents/\(documentID)").status == .conflict)

                // A change request carries the documents into the next draft.
                #expect(try await kyc.call(
                    .post, "/api/v2/kyc-profile-versions/\(versionID)/update-requests", #"{"reason":"Add a proof of address."}"#
                ).status == .ok)
                let next = try await kyc.call(.post, "/api/v2/kyc-profiles/\(userID)/versions", "{}")
                #expect(next.data["documentsCount"] as? Int == 1)
            }
            let dump = try await server.kycSnapshot()
            #expect(!dump.contains(Self.pdf.base64EncodedString()) && !dump.contains("passport page"))
        }
    }

    static let badUploads: [(String, String, String)] = [
        ("png declared as pdf", upload("passport", "application/pdf", png), "fileData"),
        ("unknown type", upload("selfie", "image/png", png), "type"),
        ("gif", upload("other", "image/gif", png), "mimeType"),
        ("not base64", #"{"type":"other","fileName":"x","mimeType":"image/png","fileData":"%%%"}"#, "fileData"),
        ("no file name", upload("other", "image/png", png, name: " "), "fileName"),
        ("fileData missing", #"{"type":"other","fileName":"x","mimeType":"image/png"}"#, "fileData"),
        ("fileData not a string", #"{"type":"other","fileName":"x","mimeType":"image/png","fileData":5}"#, "fileData"),
    ]

    @Test func badUploadsAre400NamingTheFieldAndChangeNothing() async throws {
        try await TestServer.with { server in
            try await server.kyc { kyc in
                let userID = try await kyc.createUser()
                let versionID = try #require(try await kyc.createDraft(userID).data["id"] as? String)
                for (name, body, path) in Self.badUploads {
                    let snapshot = try await server.kycSnapshot()
                    let answer = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(versionID)/documents", body)
                    #expect(answer.status == .badRequest && answer.dalpID == "DALP-0001", "\(name)")
                    #expect(answer.issuePaths == [path], "\(name)")
                    #expect(try await server.kycSnapshot() == snapshot, "\(name) wrote")
                }
            }
        }
    }

    /// 25 MiB decoded is accepted through the default 30 MiB body limit; one byte more is 400.
    @Test func theSizeLimitIs25MiBDecoded() async throws {
        try await TestServer.with(configuration: .init(port: 0, publicURL: "http://clearance.test")) { server in
            try await server.kyc { kyc in
                let userID = try await kyc.createUser()
                let versionID = try #require(try await kyc.createDraft(userID).data["id"] as? String)
                var bytes = Self.pdf
                bytes.append(Data(count: KYCDocumentRules.maxBytes + 1 - bytes.count))
                let snapshot = try await server.kycSnapshot()
                let over = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(versionID)/documents", Self.upload("other", "application/pdf", bytes))
                #expect(over.status == .badRequest && over.issuePaths == ["fileData"] && over.dalpID == "DALP-0001")
                #expect(try await server.kycSnapshot() == snapshot)
                bytes.removeLast()
                let fits = try await kyc.call(.post, "/api/v2/kyc-profile-versions/\(versionID)/documents", Self.upload("other", "application/pdf", bytes))
                #expect(fits.status == .created, "\(fits.json)")
            }
        }
    }
}

