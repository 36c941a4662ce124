import Foundation
import HTTPTypes
import Hummingbird

/// Cookies, form bodies and HTML answers for the console.
enum ConsoleHTTP {
    /// `__Host-` pins the cookie to this origin and path `/` and demands
    /// Secure, so it is used whenever the public URL is https.
    static func sessionCookieName(secure: Bool) -> String { secure ? "__Host-clearance_console" : "clearance_console" }
    static func loginCookieName(secure: Bool) -> String { secure ? "__Host-clearance_login" : "clearance_login" }

    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return String(parts[1]).trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// HttpOnly, SameSite=Lax (a link into the console from mail or chat
    /// still arrives signed in; every change is a POST with a CSRF token),
    /// Secure on https. No Max-Age: the server ends the session.
    static func setCookie(_ name: String, value: String, secure: Bool, maxAge: Int? = nil) -> String {
        var parts = ["\(name)=\(value)", "Path=/", "HttpOnly", "SameSite=Lax"]
        if secure { parts.append("Secure") }
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        return parts.joined(separator: "; ")
    }

    static func clearCookie(_ name: String, secure: Bool) -> String {
        setCookie(name, value: "", secure: secure, maxAge: 0)
    }

    /// `application/x-www-form-urlencoded`, every value of each key kept.
    struct Form: Sendable {
        var values: [String: [String]] = [:]

        init(_ text: String) {
            for pair in text.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ part: Substring) -> String {
                    String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
                }
                let key = decode(parts[0])
                values[key, default: []].append(parts.count > 1 ? decode(parts[1]) : "")
            }
        }

        subscript(_ key: String) -> String? { values[key]?.first }
        func all(_ key: String) -> [String] { values[key] ?? [] }

        /// Trimmed; nil when empty.
        func text(_ key: String) -> String? {
            self[key]?.trimmingCharacters(in: .whitespacesAndNewlines).nonEmpty
        }
    }

    static func readForm(_ request: inout Request, context: ClearanceRequestContext) async throws -> Form {
        let buffer = try await request.body.collect(upTo: min(context.maxUploadSize, 1 << 20))
        request.body = .init(buffer: buffer)
        return Form(String(buffer: buffer))
    }

    static func securityHeaders() -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] =
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return headers
    }

    static func html(_ body: String, status: HTTPResponse.Status = .ok, extraHeaders: HTTPFields = [:]) -> Response {
        var headers = securityHeaders()
        headers.append(contentsOf: extraHeaders)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// 303 See Other: after a POST the browser GETs the target.
    static func redirect(_ location: String, extraHeaders: HTTPFields = [:]) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        headers.append(contentsOf: extraHeaders)
        return Response(status: .seeOther, headers: headers)
    }

    /// Only same-site paths under /console/ are followed after sign-in;
    /// otherwise `/console`, which sends each user to the page their roles open.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/console/"), !next.hasPrefix("//"), !next.contains("\\"),
            !next.hasPrefix("/console/login"), !next.hasPrefix("/console/logout")
        else { return "/console" }
        return next
    }
}
