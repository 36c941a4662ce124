import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import ClearanceDomain
import ClearanceTestSupport

/// One environment's worth of real resources for the matrix to call: made
/// once, through the API, with a key of that environment holding every grant.
struct AuthorizationFixtures: Sendable {
    var environment: KeyEnvironment
    /// Path parameter → the id it names.
    var parameters: [String: String]
    /// Per operation, the parameters that point elsewhere (a delete gets its
    /// own victim; the reviewer actions a version under review).
    var overrides: [String: [String: String]]

    /// Every id made in this environment, to show that the other
    /// environment's answers never name one (workflows are shared; a node id is a name).
    var ids: [String] {
        let own = parameters.filter { $0.key != "workflow_id" && $0.key != "node_id" }.values
        return Array(Set(own).union(overrides.values.flatMap(\.values)))
    }

    /// The path of `operation` ("METHOD /path/{param}/") with real ids.
    func path(_ operation: String) -> String {
        let template = String(operation.split(separator: " ", maxSplits: 1)[1])
        return fill(template, for: operation)
    }

    func fill(_ template: String, for operation: String) -> String {
        var out = template
        for (name, value) in parameters.merging(overrides[operation] ?? [:], uniquingKeysWith: { $1 }) {
            out = out.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return out
    }

    /// A body an allowed caller would send, so a permitted call is judged on
    /// its merits, not refused for its input. `{workflow_id}` is filled in.
    static let bodies: [String: String] = [
        "POST /v3/api-keys/": #"{"name":"matrix","privileges":["read:audit"]}"#,
        "POST /v3/workflows/": #"{"name":"matrix new","nodes":[{"feature":"OCR"}]}"#,
        "PATCH /v3/workflows/{workflow_id}/": #"{"name":"matrix renamed"}"#,
        "POST /v3/session/": #"{"workflow_id":"{workflow_id}","vendor_data":"matrix-created"}"#,
        "PATCH /v3/session/{session_id}/update-status/": #"{"new_status":"Approved","comment":"matrix"}"#,
        "PATCH /v3/session/{session_id}/features/{node_id}/update-status/": #"{"new_status":"Approved"}"#,
        "POST /v3/session/{session_id}/decision-email-preview/": #"{"new_status":"Approved"}"#,
        "POST /v3/session/{session_id}/resubmission-preview/": #"{"nodes_to_resubmit":["feature_ocr:OCR"]}"#,
        "POST /v3/webhook/destinations/": #"{"url":"https://93.184.216.34/matrix-new","subscribed_events":["status.updated"]}"#,
        "PATCH /v3/webhook/destinations/{uuid}/": #"{"label":"matrix"}"#,
        "POST /api/v2/users": #"{"email":"matrix-new@example.com"}"#,
        "POST /api/v2/kyc-profiles/{userId}/versions": "{}",
        "PATCH /api/v2/kyc-profile-versions/{versionId}": #"{"firstName":"Augusta"}"#,
        "POST /api/v2/kyc-profile-versions/{versionId}/approvals": #"{"reviewNotes":"matrix"}"#,
        "POST /api/v2/kyc-profile-versions/{versionId}/rejections": #"{"rejectionReason":"The passport photo is unreadable."}"#,
        "POST /api/v2/kyc-profile-versions/{versionId}/update-requests": #"{"reason":"Please send a clearer passport."}"#,
        "POST /api/v2/kyc-profile-versions/{versionId}/documents": document,
        "PATCH /api/v2/kyc-settings": #"{"fourEyes":false}"#,
    ]

    static let document =
        #"{"type":"other","fileName":"a.pdf","mimeType":"application/pdf","fileData":"\#(Data("%PDF-1.7\nmatrix".utf8).base64EncodedString())"}"#

    func body(_ operation: String) -> String? { Self.bodies[operation].map { fill($0, for: operation) } }

    /// Makes the resources with `key` (every grant, in `environment`).
    static func make(
        _ environment: KeyEnvironment, key: String, client: any TestClientProtocol
    ) async throws -> AuthorizationFixtures {
        let call = SetupCaller(client: client, key: key)
        let tag = environment.rawValue
        let workflow = try await call.id(.post, "/v3/workflows/", #"{"name":"matrix","nodes":[{"feature":"OCR"},{"feature":"AML"}]}"#, "workflow_id")

        let destination = try await call.id(
            .post, "/v3/webhook/destinations/",
            #"{"url":"https://93.184.216.34/\#(tag)/hook","subscribed_events":["status.updated","data.updated"]}"#, "uuid")
        let goneDestination = try await call.id(
            .post, "/v3/webhook/destinations/", #"{"url":"https://93.184.216.34/\#(tag)/gone","subscribed_events":["status.updated"]}"#, "uuid")

        // A session in review (its node results fire events to the destination) and one to delete.
        func session(_ vendor: String) async throws -> String {
            try await call.id(
                .post, "/v3/session/",
                #"{"workflow_id":"\#(workflow)","vendor_data":"\#(vendor)","contact_details":{"email":"matrix@example.com"},"expected_details":{"first_name":"Matilda","last_name":"Matrixson"}}"#,
                "session_id")
        }
        let inReview = try await session("matrix-\(tag)-review")
        try await call.ok(.patch, "/v3/session/\(inReview)/features/feature_ocr/update-status/", #"{"new_status":"Approved"}"#)
        try await call.ok(.patch, "/v3/session/\(inReview)/features/feature_aml/update-status/", #"{"new_status":"In Review"}"#)
        let doomed = try await session("matrix-\(tag)-doomed")
        let delivery = try await call.id(.post, "/v3/webhook/destinations/\(destination)/test/", nil, "uuid")

        // KYC: user A approved (with an attestation) and a new draft holding
        // two documents; a complete draft to submit; a version under review
        // for each reviewer action, one of them with changes requested.
        func person(_ nationalID: String) -> String {
            #"{"initialData":{"firstName":"Ada","lastName":"Lovelace","dob":"1990-12-10","country":"GB","residencyStatus":"resident","nationalId":"\#(nationalID)"}}"#
        }
        func user(_ name: String) async throws -> String {
            try await call.dalpID(.post, "/api/v2/users", #"{"email":"matrix-\#(name)-\#(tag)@example.com"}"#)
        }
        func draft(_ user: String, _ nationalID: String) async throws -> String {
            try await call.dalpID(.post, "/api/v2/kyc-profiles/\(user)/versions", person("MATRIX\(nationalID)\(tag)"))
        }
        func underReview(_ name: String) async throws -> (user: String, version: String) {
            let id = try await user(name)
            let version = try await draft(id, name.uppercased())
            try await call.ok(.post, "/api/v2/kyc-profile-versions/\(version)/submissions", nil)
            return (id, version)
        }
        let userA = try await user("a")
        let approved = try await draft(userA, "A")
        try await call.ok(.post, "/api/v2/kyc-profile-versions/\(approved)/submissions", nil)
        try await call.ok(.post, "/api/v2/kyc-profile-versions/\(approved)/approvals", "{}")
        let attestation = try await call.dalpID(.post, "/api/v2/kyc-profiles/\(userA)/attestations", nil)
        let openDraft = try await call.dalpID(.post, "/api/v2/kyc-profiles/\(userA)/versions", "{}")
        let document = try await call.dalpID(.post, "/api/v2/kyc-profile-versions/\(openDraft)/documents", Self.document)
        let doomedDocument = try await call.dalpID(.post, "/api/v2/kyc-profile-versions/\(openDraft)/documents", Self.document)
        let complete = try await draft(try await user("complete"), "C")
        let toApprove = try await underReview("approve")
        let toReject = try await underReview("reject")
        let sentBack = try await underReview("update")
        let update = try await call.json(
            .post, "/api/v2/kyc-profile-versions/\(sentBack.version)/update-requests", #"{"reason":"Please send a clearer passport."}"#)
        let actionRequest = try #require(((update["data"] as? [String: Any])?["actionRequest"] as? [String: Any])?["id"] as? String)

        let keyToRevoke = try await call.id(
            .post, "/v3/api-keys/", #"{"name":"matrix victim","environment":"\#(tag)","privileges":["read:audit"]}"#, "id")

        return AuthorizationFixtures(
            environment: environment,
            parameters: [
                "key_id": keyToRevoke, "workflow_id": workflow, "session_id": inReview, "node_id": "feature_ocr",
                "uuid": destination, "delivery_uuid": delivery, "userId": userA, "versionId": openDraft, "documentId": document,
                "requestId": actionRequest, "attestationId": attestation,
            ],
            overrides: [
                "DELETE /v3/session/{session_id}/delete/": ["session_id": doomed],
                "DELETE /v3/webhook/destinations/{uuid}/": ["uuid": goneDestination],
                "DELETE /api/v2/kyc-documents/{documentId}": ["documentId": doomedDocument],
                // A user whose versions are all decided or sent back may start a draft.
                "POST /api/v2/kyc-profiles/{userId}/versions": ["userId": sentBack.user],
                "POST /api/v2/kyc-profile-versions/{versionId}/submissions": ["versionId": complete],
                "POST /api/v2/kyc-profile-versions/{versionId}/approvals": ["versionId": toApprove.version],
                "POST /api/v2/kyc-profile-versions/{versionId}/rejections": ["versionId": toReject.version],
                "POST /api/v2/kyc-profile-versions/{versionId}/update-requests": ["versionId": sentBack.version],
            ])
    }
}

/// Setup requests: each must succeed, and hands back the id it made.
private struct SetupCaller {
    let client: any TestClientProtocol
    let key: String

    func json(_ method: HTTPRequest.Method, _ path: String, _ text: String?) async throws -> [String: Any] {
        var fields = headers(key: key)
        fields[.contentType] = "application/json"
        let response = try await client.execute(uri: path, method: method, headers: fields, body: text.map(body))
        try #require(response.status.kind == .successful, "setup \(method) \(path): \(response.status) \(response.text)")
        return response.json
    }

    func ok(_ method: HTTPRequest.Method, _ path: String, _ text: String?) async throws {
        _ = try await json(method, path, text)
    }

    func id(_ method: HTTPRequest.Method, _ path: String, _ text: String?, _ field: String) async throws -> String {
        try #require(try await json(method, path, text)[field] as? String, "setup \(method) \(path) answered no \(field)")
    }

    func dalpID(_ method: HTTPRequest.Method, _ path: String, _ text: String?) async throws -> String {
        try #require((try await json(method, path, text)["data"] as? [String: Any])?["id"] as? String, "setup \(method) \(path)")
    }
}
