import Foundation
import Hummingbird
import Mustache
import ClearanceDomain

/// The console's templates (`Templates/*.mustache`, HTML-escaped by
/// default) and its one stylesheet, loaded once from the bundle.
final class ConsoleRenderer: Sendable {
    let library: MustacheLibrary
    let stylesheet: String

    init() throws {
        guard let templates = Bundle.module.url(forResource: "Templates", withExtension: nil),
            let css = Bundle.module.url(forResource: "Static/console", withExtension: "css")
                ?? Bundle.module.resourceURL?.appendingPathComponent("Static/console.css")
        else { throw ConsoleRendererError(description: "the console's templates are missing from the server's resources") }
        var loaded: [String: MustacheTemplate] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: templates.path) where file.hasSuffix(".mustache") {
            let text = try String(contentsOf: templates.appendingPathComponent(file), encoding: .utf8)
            loaded[String(file.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
        }
        library = MustacheLibrary(templates: loaded)
        stylesheet = try String(contentsOf: css, encoding: .utf8)
    }

    /// Renders `template` inside the layout, with the navigation for `viewer`.
    func page(
        _ template: String, title: String, viewer: ConsoleViewer?, active: String = "", _ values: [String: Any] = [:],
        status: HTTPResponse.Status = .ok, extraHeaders: HTTPFields = [:]
    ) -> Response {
        var object = values
        object["title"] = title
        object["active_\(active)"] = true
        if let viewer { object["viewer"] = viewer.templateValues }
        let html = library.render(object, withTemplate: template) ?? "<!doctype html><title>Clearance</title><p>Missing template \(template)</p>"
        return ConsoleHTTP.html(html, status: status, extraHeaders: extraHeaders)
    }
}

struct ConsoleRendererError: Error, CustomStringConvertible {
    var description: String
}

/// Who is looking at a page: their principal and the CSRF token their forms carry.
struct ConsoleViewer: Sendable {
    var principal: Principal
    var csrf: String

    var userID: String { principal.id }

    var templateValues: [String: Any] {
        [
            "email": principal.name, "csrf": csrf,
            "environment": principal.environment.rawValue,
            "sandbox": principal.environment == .sandbox,
            "can_sessions": principal.has(.readSessions),
            "can_kyc": principal.canWorkKYC,
            "can_deliveries": principal.has(.readWebhooks),
            "can_audit": principal.has(.readAudit),
            "is_admin": principal.has(.adminKeys),
        ]
    }
}
