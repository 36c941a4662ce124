import ArgumentParser
import ClearanceClient
import Foundation

/// `clearance sessions list|show|update-status`, through a running server.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "Read and decide verification sessions on a running server.",
        subcommands: [List.self, Show.self, UpdateStatusCommand.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List sessions, newest first.")
        @OptionGroup var clientOptions: ClientOptions
        @Option(help: "A status label or UPPER_SNAKE form.") var status: String?
        @Option(name: .customLong("vendor-data")) var vendorData: String?
        @Option(help: "ISO alpha-3 document country.") var country: String?
        @Option(name: .customLong("workflow-id")) var workflowID: String?
        @Option var search: String?
        @Option(name: .customLong("date-from")) var dateFrom: String?
        @Option(name: .customLong("date-to")) var dateTo: String?
        @Option(name: .customLong("session-kind")) var sessionKind: String?
        @Option var limit: Int = 20
        @Option var offset: Int = 0
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            var query = ["limit": String(limit), "offset": String(offset)]
            let filters: [(String, String?)] = [
                ("status", status), ("vendor_data", vendorData), ("country", country), ("workflow_id", workflowID),
                ("search", search), ("date_from", dateFrom), ("date_to", dateTo), ("session_kind", sessionKind),
            ]
            for case let (name, value?) in filters { query[name] = value }
            let page = try await CLIClient.call { try await client.listSessions(query) }
            try Output.show(page, json: json) { page in
                var lines = page.results.map { item in
                    "#\(item.session_number)\t\(item.session_id)\t\(item.status)\t\(item.vendor_data ?? "-")\t\(item.country ?? "-")\t\(item.created_at)"
                }
                lines.append("\(page.results.count) of \(page.count) sessions")
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a session's decision: status, nodes, reviews.")
        @OptionGroup var clientOptions: ClientOptions
        @Argument var id: String
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            let decision = try await CLIClient.call { try await client.decision(id: id) }
            try Output.show(decision, json: json, text: Self.describe)
        }

        static func describe(_ decision: [String: AnyJSON]) -> String {
            func text(_ key: String) -> String {
                if case .string(let value)? = decision[key] { return value }
                if case .number(let value)? = decision[key] { return String(Int(value)) }
                return "-"
            }
            var lines = [
                "session #\(text("session_number")) \(text("session_id"))",
                "  status:   \(text("status"))",
                "  kind:     \(text("session_kind"))   workflow \(text("workflow_id")) v\(text("workflow_version"))",
                "  vendor:   \(text("vendor_data"))",
                "  expires:  \(text("expires_at"))",
            ]
            for (key, value) in decision.sorted(by: { $0.key < $1.key }) {
                guard case .array(let items) = value, !items.isEmpty, key != "reviews", key != "warnings" else { continue }
                for case .object(let item) in items {
                    var status = "-"
                    if case .string(let value)? = item["status"] { status = value }
                    var node = "-"
                    if case .string(let value)? = item["node_id"] { node = value }
                    lines.append("  node \(node) (\(key)): \(status)")
                }
            }
            if case .array(let reviews)? = decision["reviews"] {
                for case .object(let review) in reviews {
                    func field(_ key: String) -> String {
                        if case .string(let value)? = review[key] { return value }
                        return "-"
                    }
                    lines.append("  \(field("created_at"))  \(field("previous_status")) → \(field("new_status")) by \(field("actor"))\(field("comment") == "-" ? "" : ": \(field("comment"))")")
                }
            }
            return lines.joined(separator: "\n")
        }
    }

    struct UpdateStatusCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update-status", abstract: "Approve, decline, reopen or send back a session.")
        @OptionGroup var clientOptions: ClientOptions
        @Argument var id: String
        @Argument(help: "Approved, Declined, Resubmitted or \"In Review\" (or APPROVED, …).") var status: String
        @Option var comment: String?
        @Option(name: .customLong("node"), help: "A node to redo, node_id[:FEATURE] (repeatable; Resubmitted only).")
        var nodes: [String] = []
        @Flag(name: .customLong("send-email")) var sendEmail = false
        @Option(name: .customLong("email-address")) var emailAddress: String?
        @Option(name: .customLong("email-language")) var emailLanguage: String?
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            let body = UpdateStatus(
                new_status: status, comment: comment, send_email: sendEmail ? true : nil, email_address: emailAddress,
                email_language: emailLanguage,
                nodes_to_resubmit: nodes.isEmpty ? nil : nodes.map { text in
                    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
                    return ResubmitNode(node_id: parts[0], feature: parts.count > 1 ? parts[1] : nil)
                })
            let answer = try await CLIClient.call { try await client.updateSessionStatus(id: id, body) }
            try Output.show(answer, json: json) { "session \($0.session_id) is \($0.status)" }
        }
    }
}
