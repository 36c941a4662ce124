import ArgumentParser
import ClearanceClient
import Foundation

/// `clearance workflows create|list|show`, through a running server.
struct WorkflowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflows", abstract: "Create and read workflows on a running server.",
        subcommands: [Create.self, List.self, Show.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a workflow from an ordered list of features.")
        @OptionGroup var clientOptions: ClientOptions
        @Option var name: String
        @Option(help: "user (KYC) or business (KYB).") var kind: String = "user"
        @Option(name: .customLong("feature"), help: "A feature, in order (repeatable): OCR, LIVENESS, FACE_MATCH, AML, …")
        var features: [String] = []
        @Option(name: .customLong("session-ttl-hours")) var sessionTTLHours: Int?
        @Option(name: .customLong("max-resubmit-attempts")) var maxResubmitAttempts: Int?
        @Option(name: .customLong("minimum-age")) var minimumAge: Int?
        @Flag(name: .customLong("allow-expired-documents")) var allowExpiredDocuments = false
        @Flag(name: .customLong("four-eyes")) var fourEyes = false
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            let body = WorkflowCreate(
                name: name, kind: kind, nodes: features.map { WorkflowNode(feature: $0) },
                settings: WorkflowSettings(
                    session_ttl_hours: sessionTTLHours, max_resubmit_attempts: maxResubmitAttempts,
                    minimum_age: minimumAge, allow_expired_documents: allowExpiredDocuments ? true : nil,
                    four_eyes: fourEyes ? true : nil))
            let workflow = try await CLIClient.call { try await client.createWorkflow(body) }
            try Output.show(workflow, json: json, text: Show.describe)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List workflows.")
        @OptionGroup var clientOptions: ClientOptions
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            let page = try await CLIClient.call { try await client.listWorkflows() }
            try Output.show(page.results, json: json) { workflows in
                workflows.map { "\($0.workflow_id)\tv\($0.version)\t\($0.kind)\t\($0.name)\($0.is_default ? "\t(default)" : "")" }
                    .joined(separator: "\n")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one workflow.")
        @OptionGroup var clientOptions: ClientOptions
        @Argument var id: String
        @Option var version: Int?
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            let workflow = try await CLIClient.call { try await client.workflow(id: id, version: version) }
            try Output.show(workflow, json: json, text: Self.describe)
        }

        static func describe(_ workflow: Workflow) -> String {
            var lines = [
                "workflow \(workflow.workflow_id) version \(workflow.version)\(workflow.is_default ? " (default)" : "")",
                "  name:  \(workflow.name)",
                "  kind:  \(workflow.kind)",
                "  nodes: " + workflow.nodes.map { "\($0.node_id ?? "?")=\($0.feature)" }.joined(separator: " → "),
            ]
            let settings = workflow.settings
            lines.append(
                "  settings: ttl \(settings.session_ttl_hours ?? 0) h, resubmits \(settings.max_resubmit_attempts ?? 0), minimum age \(settings.minimum_age ?? 0), expired documents \(settings.allow_expired_documents == true ? "allowed" : "refused"), four eyes \(settings.four_eyes == true ? "on" : "off")"
            )
            return lines.joined(separator: "\n")
        }
    }
}

/// Prints an answer readably, or as JSON with `--json`.
enum Output {
    static func show<T: Encodable>(_ value: T, json: Bool, text: (T) -> String) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(value), as: UTF8.self))
        } else {
            print(text(value))
        }
    }
}
