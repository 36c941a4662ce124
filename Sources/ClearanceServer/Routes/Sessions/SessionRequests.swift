import Foundation
import ClearanceDomain
import ClearanceStore

/// Request bodies of the sessions dialect and their validation into the
/// service's inputs. Every problem is collected; none is applied.
enum SessionRequests {
    struct ContactDetails: Decodable {
        var email: String?
        var phone: String?
        var send_notification_emails: Bool?
        var email_lang: String?
    }

    struct ExpectedDetails: Decodable {
        var first_name: String?
        var last_name: String?
        var date_of_birth: String?
        var gender: String?
        var nationality: String?
        var id_country: String?
        var poa_country: String?
        var address: String?
        var identification_number: String?
        var ip_address: String?
        var company_name: String?
        var registry_country: String?
        var registration_number: String?
    }

    struct Create: Decodable {
        var workflow_id: String?
        var vendor_data: String?
        var callback: String?
        var callback_method: String?
        var metadata: JSONValue?
        var language: String?
        var contact_details: ContactDetails?
        var expected_details: ExpectedDetails?
        var portrait_image: String?
        var sandbox_scenario: String?
    }

    static let callbackMethods = ["initiator", "completer", "both"]
    static let genders = ["M", "F", "U", "X"]

    static func validate(_ body: Create, environment: KeyEnvironment) throws -> SessionService.NewSession {
        var issues: [FieldIssue] = []
        func issue(_ path: String, _ message: String) { issues.append(FieldIssue(path: path, message: message)) }

        var workflowID = ""
        if let text = body.workflow_id {
            if let uuid = UUID(uuidString: text) { workflowID = uuid.uuidString.lowercased() } else { issue("workflow_id", "Must be a UUID.") }
        } else {
            issue("workflow_id", "This field is required.")
        }
        if let vendorData = body.vendor_data, vendorData.isEmpty || vendorData.count > 1000 || !FieldRules.isPlainText(vendorData) {
            issue("vendor_data", "Must be 1 to 1000 characters without control characters.")
        }
        if let callback = body.callback, !FieldRules.isHTTPURL(callback) {
            issue("callback", "Must be an absolute http(s) URL.")
        }
        if let method = body.callback_method, !callbackMethods.contains(method) {
            issue("callback_method", "'\(method)' is not a valid choice; expected one of: \(callbackMethods.joined(separator: ", ")).")
        }
        var metadata = body.metadata
        if case .string(let text) = body.metadata {
            // Didit accepts metadata as JSON or as a string holding JSON.
            if let parsed = JSONValue(parsing: text) { metadata = parsed } else { issue("metadata", "Must be JSON (an object, or a string holding JSON).") }
        }
        if let metadata, metadata.canonicalText.utf8.count > 64 * 1024 { issue("metadata", "Must be at most 64 KiB of JSON.") }
        if let language = body.language, !Language.isValid(language) {
            issue("language", "'\(language)' is not a supported language code.")
        }

        var contact: [String: JSONValue] = [:]
        if let details = body.contact_details {
            if let email = details.email {
                if FieldRules.isEmail(email) { contact["email"] = .string(email) } else { issue("contact_details.email", "Must be an email address.") }
            }
            if let phone = details.phone {
                if FieldRules.isPhone(phone) { contact["phone"] = .string(phone) } else { issue("contact_details.phone", "Must be an E.164 number such as +34600111222.") }
            }
            if let send = details.send_notification_emails { contact["send_notification_emails"] = .bool(send) }
            if let language = details.email_lang {
                if Language.isValid(language) { contact["email_lang"] = .string(language) } else { issue("contact_details.email_lang", "'\(language)' is not a supported language code.") }
            }
            if details.send_notification_emails == true && details.email == nil {
                issue("contact_details.email", "send_notification_emails needs an email address.")
            }
        }

        var expected: [String: JSONValue] = [:]
        var country: String?
        if let details = body.expected_details {
            func text(_ key: String, _ value: String?, max: Int = 200) {
                guard let value else { return }
                let trimmed = value.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty || trimmed.count > max || !FieldRules.isPlainText(trimmed) {
                    issue("expected_details.\(key)", "Must be 1 to \(max) characters without control characters.")
                } else {
                    expected[key] = .string(trimmed)
                }
            }
            func alpha3(_ key: String, _ value: String?) {
                guard let value else { return }
                if FieldRules.isAlpha3(value) { expected[key] = .string(value) } else { issue("expected_details.\(key)", "Must be an ISO 3166-1 alpha-3 code in capitals, such as ESP.") }
            }
            text("first_name", details.first_name)
            text("last_name", details.last_name)
            text("address", details.address, max: 500)
            text("identification_number", details.identification_number, max: 100)
            text("company_name", details.company_name)
            text("registration_number", details.registration_number, max: 100)
            if let birth = details.date_of_birth {
                if let date = FieldRules.date(birth), date < Date() { expected["date_of_birth"] = .string(birth) } else { issue("expected_details.date_of_birth", "Must be a past date written YYYY-MM-DD.") }
            }
            if let gender = details.gender {
                if genders.contains(gender) { expected["gender"] = .string(gender) } else { issue("expected_details.gender", "Must be one of: \(genders.joined(separator: ", ")).") }
            }
            alpha3("nationality", details.nationality)
            alpha3("id_country", details.id_country)
            alpha3("poa_country", details.poa_country)
            alpha3("registry_country", details.registry_country)
            if let ip = details.ip_address {
                if FieldRules.isIPAddress(ip) { expected["ip_address"] = .string(ip) } else { issue("expected_details.ip_address", "Must be an IPv4 or IPv6 address.") }
            }
            country = details.id_country.flatMap { FieldRules.isAlpha3($0) ? $0 : nil }
        }
        if let portrait = body.portrait_image {
            if portrait.count > 8 * 1024 * 1024 || Data(base64Encoded: portrait) == nil {
                issue("portrait_image", "Must be a base64 image of at most 6 MiB.")
            }
        }
        var scenario: SandboxScenario?
        if let name = body.sandbox_scenario {
            if environment != .sandbox {
                issue("sandbox_scenario", "Only sandbox keys may run sandbox scenarios.")
            } else if let parsed = SandboxScenario(rawValue: name) {
                scenario = parsed
            } else {
                issue("sandbox_scenario", "'\(name)' is not a valid scenario; expected one of: \(SandboxScenario.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
        }
        guard issues.isEmpty else { throw APIError.validation(issues) }
        return SessionService.NewSession(
            workflowID: workflowID, vendorData: body.vendor_data, callback: body.callback,
            callbackMethod: body.callback_method, metadata: metadata, language: body.language,
            personal: SessionPersonalData(
                contactDetails: contact.isEmpty ? nil : .object(contact),
                expectedDetails: expected.isEmpty ? nil : .object(expected), portraitImage: body.portrait_image),
            country: country, sandboxScenario: scenario)
    }

    /// `nodes_to_resubmit` items: `{node_id, feature}` or `"node_id:FEATURE"`.
    struct NodeItem: Decodable {
        var value: RequestedNode

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                value = RequestedNode(text: text)
                return
            }
            enum Keys: String, CodingKey { case node_id, feature }
            let container = try decoder.container(keyedBy: Keys.self)
            value = RequestedNode(
                nodeID: try container.decode(String.self, forKey: .node_id),
                feature: try container.decodeIfPresent(String.self, forKey: .feature))
        }
    }

    struct UpdateStatus: Decodable, DirectJSONDecodable {
        var new_status: String
        var comment: String?
        var send_email: Bool?
        var email_address: String?
        var email_language: String?
        var nodes_to_resubmit: [NodeItem]?
        var email_preview_token: String?

        /// Strings and a Bool, each absent, null or of its type (as the
        /// synthesized decoder reads them; other keys are ignored as it
        /// ignores them); anything else, and any `nodes_to_resubmit`, is
        /// left to the decoder.
        init?(directJSON members: [String: JSONValue]) {
            func text(_ key: String) -> String?? {
                switch members[key] {
                case nil, .null?: return .some(nil)
                case .string(let value)?: return .some(value)
                default: return nil
                }
            }
            guard case .string(let status)? = members["new_status"], let comment = text("comment"),
                let address = text("email_address"), let language = text("email_language"),
                let token = text("email_preview_token")
            else { return nil }
            switch members["nodes_to_resubmit"] {
            case nil, .null?: break
            default: return nil
            }
            switch members["send_email"] {
            case nil, .null?: send_email = nil
            case .bool(let value)?: send_email = value
            default: return nil
            }
            new_status = status
            self.comment = comment
            email_address = address
            email_language = language
            nodes_to_resubmit = nil
            email_preview_token = token
        }
    }

    static func validate(_ body: UpdateStatus) throws -> SessionService.ManualChange {
        var issues: [FieldIssue] = []
        let status = SessionStatus(label: body.new_status)
        if status == nil {
            issues.append(FieldIssue(path: "new_status", message: "'\(body.new_status)' is not a valid status; use Approved, Declined, Resubmitted or In Review."))
        }
        if let comment = body.comment, comment.count > 5000 || !FieldRules.isPlainText(comment, allowNewlines: true) {
            issues.append(FieldIssue(path: "comment", message: "Must be at most 5000 characters without control characters."))
        }
        if let address = body.email_address, !FieldRules.isEmail(address) {
            issues.append(FieldIssue(path: "email_address", message: "Must be an email address."))
        }
        let language = body.email_language ?? "en"
        if !Language.isValid(language) {
            issues.append(FieldIssue(path: "email_language", message: "'\(language)' is not a supported language code."))
        }
        if let token = body.email_preview_token, token.isEmpty || token.count > 500 {
            issues.append(FieldIssue(path: "email_preview_token", message: "Must be a token from a preview."))
        }
        guard issues.isEmpty, let status else { throw APIError.validation(issues) }
        return SessionService.ManualChange(
            newStatus: status, comment: body.comment, sendEmail: body.send_email ?? false,
            emailAddress: body.email_address, emailLanguage: language,
            nodesToResubmit: body.nodes_to_resubmit?.map(\.value), emailPreviewToken: body.email_preview_token)
    }

    struct WarningBody: Decodable {
        var code: String
        var risk: String?
        var short_description: String?
        var long_description: String?
        var severity: String?
    }

    struct NodeUpdate: Decodable {
        var new_status: String
        var comment: String?
        var data: JSONValue?
        var warnings: [WarningBody]?
    }

    static func validate(_ body: NodeUpdate) throws -> SessionService.NodeReport {
        var issues: [FieldIssue] = []
        let status = NodeStatus(label: body.new_status)
        if status == nil {
            issues.append(FieldIssue(path: "new_status", message: "'\(body.new_status)' is not a valid node status; expected one of: \(NodeStatus.allCases.map(\.rawValue).joined(separator: ", "))."))
        }
        if let data = body.data, data.objectValue == nil {
            issues.append(FieldIssue(path: "data", message: "Must be an object."))
        }
        if let data = body.data, data.canonicalText.utf8.count > 256 * 1024 {
            issues.append(FieldIssue(path: "data", message: "Must be at most 256 KiB of JSON."))
        }
        if let comment = body.comment, comment.count > 5000 {
            issues.append(FieldIssue(path: "comment", message: "Must be at most 5000 characters."))
        }
        var warnings: [SessionWarning]?
        if let items = body.warnings {
            warnings = []
            for (index, item) in items.enumerated() {
                let severity = item.severity ?? "medium"
                if item.code.isEmpty || item.code.count > 100 {
                    issues.append(FieldIssue(path: "warnings[\(index)].code", message: "Must be 1 to 100 characters."))
                }
                if !SessionWarning.severities.contains(severity) {
                    issues.append(FieldIssue(path: "warnings[\(index)].severity", message: "Must be one of: low, medium, high, critical."))
                }
                warnings?.append(
                    SessionWarning(
                        code: item.code, risk: item.risk ?? item.code, shortDescription: item.short_description ?? "",
                        longDescription: item.long_description ?? "", severity: severity))
            }
        }
        guard issues.isEmpty, let status else { throw APIError.validation(issues) }
        return SessionService.NodeReport(status: status, comment: body.comment, data: body.data, warnings: warnings)
    }
}
