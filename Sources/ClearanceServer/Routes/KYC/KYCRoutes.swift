import Foundation
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// The SettleMint DALP KYC dialect under `/api/v2/` (`kyc-profiles.md`):
/// users, profiles, versions, reviewer actions, action requests and the
/// organisation's KYC settings. Roles gate it, not privileges: reading and
/// acting need `claimIssuer` or `identityManager`, creating users
/// `identityManager`, settings `admin`. Another environment's ids are 404.
struct KYCRoutes {
    let store: Store
    let clock: ServerClock

    static let reviewerRoles: [Role] = [.claimIssuer, .identityManager]

    func register(on group: RouterGroup<ClearanceRequestContext>) {
        group.post("/api/v2/users", use: createUser)
        group.get("/api/v2/users", use: listUsers)
        group.get("/api/v2/users/:userId", use: showUser)
        group.get("/api/v2/kyc-profiles/:userId", use: profile)
        group.post("/api/v2/kyc-profiles/:userId/versions", use: createVersion)
        group.get("/api/v2/kyc-profiles/:userId/versions", use: listVersions)
        group.get("/api/v2/kyc-profile-versions/:versionId", use: showVersion)
        group.patch("/api/v2/kyc-profile-versions/:versionId", use: editVersion)
        group.post("/api/v2/kyc-profile-versions/:versionId/submissions", use: submit)
        group.post("/api/v2/kyc-profile-versions/:versionId/approvals", use: approve)
        group.post("/api/v2/kyc-profile-versions/:versionId/rejections", use: reject)
        group.post("/api/v2/kyc-profile-versions/:versionId/update-requests", use: requestUpdate)
        group.get("/api/v2/kyc-action-requests", use: listActionRequests)
        group.get("/api/v2/kyc-action-requests/:requestId", use: showActionRequest)
        group.get("/api/v2/kyc-settings", use: showSettings)
        group.patch("/api/v2/kyc-settings", use: editSettings)
    }

    var service: KYCService { KYCService(store: store) }

    static func wrap(_ value: JSONValue, status: HTTPResponse.Status = .ok) throws -> Response {
        try JSONResponse.make(JSONValue.object(["data": value]), status: status)
    }

    // MARK: Users

    @Sendable func createUser(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: [.identityManager])
        var request = request
        let new = try KYCRequests.validate(try await request.decodeJSON(KYCRequests.CreateUser.self, context: context))
        let user = try await service.createUser(new, principal: principal, requestID: context.requestID, now: clock.now())
        return try Self.wrap(KYCViews.user(user), status: .created)
    }

    @Sendable func listUsers(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        let page = try Pagination(request)
        let (total, items) = try await store.kyc.users(environment: principal.environment, limit: page.limit, offset: page.offset)
        return try JSONResponse.make(KYCViews.list(items.map(KYCViews.user), total: total, limit: page.limit, offset: page.offset))
    }

    @Sendable func showUser(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        return try Self.wrap(KYCViews.user(try await user(context, principal)))
    }

    func user(_ context: ClearanceRequestContext, _ principal: Principal) async throws -> KYCUserRecord {
        guard let id = KYCIdentifier.user.normalize(try context.parameters.require("userId")),
            let user = try await store.kyc.user(id: id, environment: principal.environment)
        else { throw KYCService.userNotFound }
        return user
    }

    // MARK: Profile and versions

    @Sendable func profile(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        let user = try await user(context, principal)
        let view = try await store.database.read { sql in
            var approved: KYCVersionRecord?
            if let id = user.approvedVersionID { approved = try await store.kyc.version(id: id, on: sql)?.0 }
            let latest = try await store.kyc.latestVersion(userID: user.id, on: sql)
            let open = try await store.kyc.actionRequests(userID: user.id, status: .open, on: sql)
            return KYCViews.profile(user, approved: approved, latest: latest, open: open)
        }
        return try Self.wrap(view)
    }

    @Sendable func createVersion(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        guard let userID = KYCIdentifier.user.normalize(try context.parameters.require("userId")) else {
            throw KYCService.userNotFound
        }
        var request = request
        let body = try await request.decodeOptionalJSON(KYCRequests.CreateVersion.self, empty: .init(), context: context)
        let edit = try KYCRequests.fieldEdit(body.initialData, prefix: "initialData.")
        let version = try await service.createVersion(
            userID: userID, overwriteDraft: body.overwriteDraft ?? false, initialData: edit, principal: principal,
            requestID: context.requestID, now: clock.now())
        return try Self.wrap(try await versionView(version, principal), status: .created)
    }

    @Sendable func listVersions(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        let user = try await user(context, principal)
        let page = try Pagination(request)
        let query = Query(request)
        var filter = KYCVersionFilter(limit: page.limit, offset: page.offset)
        if let text = query.get("statuses"), !text.isEmpty {
            var statuses: [KYCVersionStatus] = []
            for part in text.split(separator: ",") {
                guard let status = KYCVersionStatus(rawValue: part.trimmingCharacters(in: .whitespaces)) else {
                    throw APIError.validation(
                        path: "statuses", "Unknown status '\(part)'; one of \(KYCVersionStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                statuses.append(status)
            }
            filter.statuses = statuses
        }
        switch query.get("orderDirection") {
        case nil, "desc": filter.ascending = false
        case "asc": filter.ascending = true
        default: throw APIError.validation(path: "orderDirection", "Must be asc or desc.")
        }
        let (total, items) = try await store.kyc.versions(userID: user.id, filter: filter)
        let settings = try await KYCSettings.load(store)
        let now = clock.now()
        return try JSONResponse.make(
            KYCViews.list(
                items.map { KYCViews.version($0, principal: principal, settings: settings, now: now) }, total: total, limit: page.limit,
                offset: page.offset))
    }

    /// A version as the caller sees it (`canReview` depends on who asks).
    func versionView(_ version: KYCVersionRecord, _ principal: Principal) async throws -> JSONValue {
        KYCViews.version(version, principal: principal, settings: try await KYCSettings.load(store), now: clock.now())
    }

    static func versionID(_ context: ClearanceRequestContext) throws -> String {
        guard let id = KYCIdentifier.version.normalize(try context.parameters.require("versionId")) else {
            throw KYCService.versionNotFound
        }
        return id
    }

    @Sendable func showVersion(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        guard let found = try await store.kyc.version(id: try Self.versionID(context)), found.1 == principal.environment else {
            throw KYCService.versionNotFound
        }
        return try Self.wrap(try await versionView(found.0, principal))
    }

    @Sendable func editVersion(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        let id = try Self.versionID(context)
        var request = request
        let edit = try KYCRequests.fieldEdit(try await request.decodeJSON(JSONValue.self, context: context))
        let version = try await service.editDraft(versionID: id, edit: edit, principal: principal, requestID: context.requestID, now: clock.now())
        return try Self.wrap(try await versionView(version, principal))
    }

    @Sendable func submit(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        let id = try Self.versionID(context)
        let version = try await service.submit(versionID: id, principal: principal, requestID: context.requestID, now: clock.now())
        return try Self.wrap(try await versionView(version, principal))
    }

    // MARK: Reviewer actions

    /// Malformed or foreign ids are DALP-0419 on every route; a well-formed
    /// id with no version is the action's own 404.
    func act(_ action: KYCReviewAction, review: KYCService.Review, context: ClearanceRequestContext, principal: Principal)
        async throws -> KYCService.ReviewResult
    {
        try await service.review(
            action, versionID: try Self.versionID(context), review: review, principal: principal, requestID: context.requestID,
            now: clock.now())
    }

    @Sendable func approve(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        _ = try Self.versionID(context)
        var request = request
        let review = try KYCRequests.validate(try await request.decodeOptionalJSON(KYCRequests.Approve.self, empty: .init(), context: context))
        return try Self.wrap(KYCViews.review(try await act(.approve, review: review, context: context, principal: principal).version))
    }

    @Sendable func reject(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        _ = try Self.versionID(context)
        var request = request
        let review = try KYCRequests.validate(try await request.decodeJSON(KYCRequests.Reject.self, context: context))
        return try Self.wrap(KYCViews.review(try await act(.reject, review: review, context: context, principal: principal).version))
    }

    @Sendable func requestUpdate(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        _ = try Self.versionID(context)
        var request = request
        let review = try KYCRequests.validate(
            try await request.decodeJSON(KYCRequests.RequestUpdate.self, context: context), now: clock.now())
        let result = try await act(.requestUpdate, review: review, context: context, principal: principal)
        return try Self.wrap([
            "version": ["id": .string(result.version.id), "status": .string(result.version.status.rawValue)],
            "actionRequest": result.actionRequest.map(KYCViews.actionRequest) ?? .null,
        ])
    }

    // MARK: Action requests

    @Sendable func listActionRequests(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        let page = try Pagination(request)
        let query = Query(request)
        var status: KYCActionRequestStatus?
        if let text = query.get("status") {
            guard let value = KYCActionRequestStatus(rawValue: text) else {
                throw APIError.validation(
                    path: "status", "Must be one of \(KYCActionRequestStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            status = value
        }
        var userID: String?
        if let text = query.get("userId") {
            guard let id = KYCIdentifier.user.normalize(text) else { throw APIError.validation(path: "userId", "Must be a usr_ id.") }
            userID = id
        }
        let (total, items) = try await store.kyc.listActionRequests(
            environment: principal.environment, status: status, userID: userID, limit: page.limit, offset: page.offset)
        return try JSONResponse.make(KYCViews.list(items.map(KYCViews.actionRequest), total: total, limit: page.limit, offset: page.offset))
    }

    @Sendable func showActionRequest(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: Self.reviewerRoles)
        guard let id = KYCIdentifier.actionRequest.normalize(try context.parameters.require("requestId")),
            let found = try await store.kyc.actionRequest(id: id), found.1 == principal.environment
        else { throw APIError.notFound("No action request with this id.") }
        return try Self.wrap(KYCViews.actionRequest(found.0))
    }

    // MARK: Settings

    static func settingsView(_ settings: KYCSettings) -> JSONValue {
        ["fourEyes": .bool(settings.fourEyes), "reviewNotesVisible": .bool(settings.reviewNotesVisible)]
    }

    struct SettingsEdit: Decodable {
        var fourEyes: Bool?
        var reviewNotesVisible: Bool?
    }

    @Sendable func showSettings(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        try context.require(anyOf: Self.reviewerRoles)
        return try Self.wrap(Self.settingsView(try await KYCSettings.load(store)))
    }

    @Sendable func editSettings(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let principal = try context.require(anyOf: [.admin])
        var request = request
        let edit = try await request.decodeJSON(SettingsEdit.self, context: context)
        let settings = try await service.updateSettings(
            fourEyes: edit.fourEyes, reviewNotesVisible: edit.reviewNotesVisible, principal: principal,
            requestID: context.requestID, now: clock.now())
        return try Self.wrap(Self.settingsView(settings))
    }
}

extension Request {
    /// As `decodeJSON`, but an empty body means `empty` (actions whose every field is optional).
    mutating func decodeOptionalJSON<T: Decodable>(_ type: T.Type, empty: T, context: ClearanceRequestContext) async throws -> T {
        let buffer = try await collectBodyOr413(context: context)
        if buffer.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return empty }
        body = .init(buffer: buffer)
        return try await decodeJSON(type, context: context)
    }
}
