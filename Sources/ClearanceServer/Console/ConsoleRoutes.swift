import Foundation
import HTTPTypes
import Hummingbird
import ClearanceDomain
import ClearanceStore

/// The reviewer console under `/console/`: server-rendered pages for the
/// people who review sessions. Every action calls the function the API
/// calls, as the signed-in console user.
struct ConsoleRoutes {
    let store: Store
    let clock: ServerClock
    let renderer: ConsoleRenderer
    let accounts: ConsoleAccountService
    let review: ConsoleReviewService
    let queue: ReviewQueueRepository
    let secure: Bool
    let reviewSLA: TimeInterval

    init(store: Store, clock: ServerClock, configuration: ServerConfiguration, renderer: ConsoleRenderer) {
        self.store = store
        self.clock = clock
        self.renderer = renderer
        self.accounts = ConsoleAccountService(store: store, policy: configuration.consolePolicy)
        self.review = ConsoleReviewService(store: store)
        self.queue = ReviewQueueRepository(database: store.database)
        self.secure = configuration.publicURL.lowercased().hasPrefix("https://")
        self.reviewSLA = configuration.reviewSLAHours * 3600
    }

    func register(on router: Router<ClearanceRequestContext>) {
        let console = router.group()
            .add(middleware: ConsoleAuthMiddleware(accounts: accounts, renderer: renderer, clock: clock, secure: secure))
        console.get("/console/static/console.css", use: stylesheet)
        console.get("/console/login", use: loginPage)
        console.post("/console/login", use: login)
        console.post("/console/logout", use: logout)
        console.get("/console", use: home)
        console.post("/console/environment", use: switchEnvironment)
        console.get("/console/queue", use: queuePage)
        console.post("/console/sessions/:session_id/assign", use: assign)
        console.get("/console/sessions/:session_id", use: sessionPage)
        console.post("/console/sessions/:session_id/decision", use: decide)
        console.get("/console/deliveries", use: deliveriesPage)
        console.post("/console/deliveries/:delivery_id/resend", use: resendDelivery)
        console.get("/console/audit", use: auditPage)
        console.get("/console/keys", use: keysPage)
        console.post("/console/keys", use: createKey)
        console.post("/console/keys/:key_id/revoke", use: revokeKey)
        console.get("/console/users", use: usersPage)
        console.post("/console/users", use: createUser)
        console.post("/console/users/:user_id", use: changeUser)
        console.get("/console/kyc", use: kycQueuePage)
        console.get("/console/kyc/versions/:version_id", use: kycVersionPage)
        console.post("/console/kyc/versions/:version_id/review", use: kycReview)
        console.post("/console/kyc/versions/:version_id/assign", use: kycAssign)
        console.get("/console/kyc/documents/:document_id", use: kycDocument)
        // Anything else under /console/ is a signed-in HTML 404, not the API's JSON one.
        console.get("/console/**", use: notFound)
    }

    func viewer(_ request: Request, _ context: ClearanceRequestContext) throws -> ConsoleViewer {
        try context.consoleViewer(request, secure: secure)
    }

    // MARK: Static

    @Sendable func stylesheet(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/css; charset=utf-8"
        headers[.cacheControl] = "public, max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: renderer.stylesheet)))
    }

    @Sendable func home(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let viewer = try viewer(request, context)
        if viewer.principal.has(.readSessions) { return ConsoleHTTP.redirect("/console/queue") }
        if viewer.principal.canWorkKYC { return ConsoleHTTP.redirect("/console/kyc") }
        return renderer.page("home", title: "Clearance", viewer: viewer)
    }

    // MARK: Sign-in

    @Sendable func loginPage(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        loginForm(request, next: request.uri.queryParameters.get("next"), email: nil, error: nil, status: .ok)
    }

    /// The sign-in form carries a random token that must match a cookie set
    /// with it (double submit), so another site cannot sign a browser in.
    func loginForm(_ request: Request, next: String?, email: String?, error: String?, status: HTTPResponse.Status) -> Response {
        let name = ConsoleHTTP.loginCookieName(secure: secure)
        let token = ConsoleHTTP.cookie(name, in: request).flatMap { $0.count == 43 ? $0 : nil } ?? ConsoleAccountService.newToken()
        var headers = HTTPFields()
        headers[.setCookie] = ConsoleHTTP.setCookie(name, value: token, secure: secure, maxAge: 3600)
        var values: [String: Any] = ["csrf": token, "next": ConsoleHTTP.safeNext(next)]
        if let email { values["email"] = email }
        if let error { values["error"] = error }
        return renderer.page("login", title: "Sign in", viewer: nil, values, status: status, extraHeaders: headers)
    }

    @Sendable func login(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        var request = request
        let form = try await ConsoleHTTP.readForm(&request, context: context)
        let next = form["next"]
        guard let sent = form["_csrf"], let expected = ConsoleHTTP.cookie(ConsoleHTTP.loginCookieName(secure: secure), in: request),
            ConsoleAuthMiddleware.equal(sent, expected)
        else {
            return loginForm(
                request, next: next, email: form.text("email"),
                error: "The sign-in form had expired. Please try again.", status: .forbidden)
        }
        guard let email = form.text("email"), let password = form["password"], !password.isEmpty else {
            return loginForm(request, next: next, email: form.text("email"), error: "Enter your email and password.", status: .badRequest)
        }
        switch try await accounts.login(email: email, password: password, requestID: context.requestID, now: clock.now()) {
        case .refused:
            return loginForm(request, next: next, email: email, error: "The email or password is not right.", status: .unauthorized)
        case .locked(let until):
            var response = loginForm(
                request, next: next, email: email,
                error: "Too many failed sign-ins: this account is locked until \(ConsoleFormat.time(until)). An administrator can also help.",
                status: .tooManyRequests)
            response.headers[.retryAfter] = String(Int(max(1, until.timeIntervalSince(clock.now())).rounded(.up)))
            return response
        case .signedIn(let token, _):
            var headers = HTTPFields()
            headers.append(HTTPField(name: .setCookie, value: ConsoleHTTP.setCookie(ConsoleHTTP.sessionCookieName(secure: secure), value: token, secure: secure)))
            headers.append(HTTPField(name: .setCookie, value: ConsoleHTTP.clearCookie(ConsoleHTTP.loginCookieName(secure: secure), secure: secure)))
            return ConsoleHTTP.redirect(ConsoleHTTP.safeNext(next), extraHeaders: headers)
        }
    }

    @Sendable func logout(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        let viewer = try viewer(request, context)
        let name = ConsoleHTTP.sessionCookieName(secure: secure)
        if let token = ConsoleHTTP.cookie(name, in: request) {
            try await accounts.logout(token: token, userID: viewer.userID, requestID: context.requestID, now: clock.now())
        }
        var headers = HTTPFields()
        headers[.setCookie] = ConsoleHTTP.clearCookie(name, secure: secure)
        return ConsoleHTTP.redirect("/console/login", extraHeaders: headers)
    }

    @Sendable func switchEnvironment(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        var request = request
        let form = try await ConsoleHTTP.readForm(&request, context: context)
        guard let environment = form["environment"].flatMap(KeyEnvironment.init(rawValue:)),
            let token = ConsoleHTTP.cookie(ConsoleHTTP.sessionCookieName(secure: secure), in: request)
        else { throw APIError.validation(path: "environment", "Choose live or sandbox.") }
        try await accounts.switchEnvironment(token: token, to: environment, now: clock.now())
        return ConsoleHTTP.redirect("/console")
    }

    @Sendable func notFound(_ request: Request, context: ClearanceRequestContext) async throws -> Response {
        throw APIError.notFound("There is no console page at this address.")
    }

}
