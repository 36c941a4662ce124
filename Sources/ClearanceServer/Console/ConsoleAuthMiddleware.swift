import Crypto
import Foundation
import Hummingbird
import Logging
import ClearanceDomain
import ClearanceStore

/// Signs console requests in from the session cookie, refuses POSTs whose
/// CSRF token does not match the session's, and turns errors into HTML
/// pages. The sign-in page and the stylesheet are open.
struct ConsoleAuthMiddleware: RouterMiddleware {
    typealias Context = ClearanceRequestContext

    let accounts: ConsoleAccountService
    let renderer: ConsoleRenderer
    let clock: ServerClock
    let secure: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            let path = request.uri.path
            if path.hasPrefix("/console/login") || path.hasPrefix("/console/static/") {
                return try await next(request, context)
            }
            guard let token = ConsoleHTTP.cookie(ConsoleHTTP.sessionCookieName(secure: secure), in: request),
                let (user, session) = try await accounts.resolve(token: token, now: clock.now())
            else {
                let target = request.method == .get ? request.uri.description : "/console"
                return ConsoleHTTP.redirect(
                    "/console/login?next=\(target.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
            }
            var context = context
            context.principal = .consoleUser(
                id: user.id, email: user.email, roles: Set(user.roles), environment: session.environment)
            context.logger[metadataKey: "actor"] = .string("console:\(user.id)")
            let viewer = ConsoleViewer(principal: context.principal!, csrf: ConsoleAccountService.csrfToken(for: token))
            var request = request
            if request.method != .get && request.method != .head {
                let form = try await ConsoleHTTP.readForm(&request, context: context)
                guard let sent = form["_csrf"], Self.equal(sent, viewer.csrf) else {
                    return renderer.page(
                        "error", title: "Form refused", viewer: viewer,
                        ["heading": "This form was refused",
                         "message": "It did not carry this session's security token (it may be from an old tab, or from another site). Go back, reload the page and try again."],
                        status: .forbidden)
                }
            }
            return try await next(request, context)
        } catch let error as APIError {
            let viewer = try? await currentViewer(request, context)
            let heading: String
            switch error.status {
            case .forbidden: heading = "You do not have access to this page"
            case .notFound: heading = "Not found"
            default: heading = "That did not work"
            }
            // The API's wording names keys and privileges; a person needs their role named.
            let message = error.code == "PERMISSION_DENIED"
                ? "Your console role does not include this page. An administrator can change your roles if you need it."
                : error.detail
            return renderer.page("error", title: heading, viewer: viewer, ["heading": heading, "message": message], status: error.status)
        } catch let error as any HTTPResponseError where error.status.code < 500 {
            // Hummingbird's own refusals, e.g. 413 for an oversize form.
            let viewer = try? await currentViewer(request, context)
            return renderer.page(
                "error", title: "Request refused", viewer: viewer,
                ["heading": "This request was refused", "message": "\(error.status.code) \(error.status.reasonPhrase)."],
                status: error.status)
        } catch {
            context.logger.error("console request failed", metadata: ["error": "\(String(reflecting: error))"])
            return renderer.page(
                "error", title: "Something went wrong", viewer: nil,
                ["heading": "Something went wrong", "message": "The server could not complete this request. Reference: \(context.requestID)"],
                status: .internalServerError)
        }
    }

    private func currentViewer(_ request: Request, _ context: Context) async throws -> ConsoleViewer? {
        guard let token = ConsoleHTTP.cookie(ConsoleHTTP.sessionCookieName(secure: secure), in: request),
            let (user, session) = try await accounts.resolve(token: token, now: clock.now())
        else { return nil }
        return ConsoleViewer(
            principal: .consoleUser(id: user.id, email: user.email, roles: Set(user.roles), environment: session.environment),
            csrf: ConsoleAccountService.csrfToken(for: token))
    }

    /// Constant-time comparison.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}

extension ClearanceRequestContext {
    /// The console user on a console route, with their CSRF token.
    func consoleViewer(_ request: Request, secure: Bool) throws -> ConsoleViewer {
        guard let principal, principal.kind == .consoleUser,
            let token = ConsoleHTTP.cookie(ConsoleHTTP.sessionCookieName(secure: secure), in: request)
        else { throw APIError.unauthenticated() }
        return ConsoleViewer(principal: principal, csrf: ConsoleAccountService.csrfToken(for: token))
    }
}
