import ArgumentParser
import ClearanceClient
import Foundation

/// `clearance kyc …`: the DALP reviewer actions and profile reads, through
/// a running server. `--json` prints the `{"data": …}` answer.
struct KYCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kyc", abstract: "Review KYC profile versions on a running server (DALP dialect).",
        subcommands: [Approve.self, Reject.self, RequestUpdate.self, Profile.self, Versions.self])

    static func show<T: Codable & Sendable>(_ value: T, json: Bool, text: (T) -> String) throws {
        try Output.show(DALPEnvelope(data: value), json: json) { text($0.data) }
    }

    static func describe(_ review: KYCReview) -> String {
        var lines = ["version \(review.id) is \(review.status) (outcome \(review.reviewOutcome ?? "-"))"]
        lines.append("  reviewed \(review.reviewedAt ?? "-") by \(review.reviewedBy ?? "-")")
        if let reason = review.rejectionReason { lines.append("  rejection reason: \(reason)") }
        if let notes = review.reviewNotes { lines.append("  review notes: \(notes)") }
        return lines.joined(separator: "\n")
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "version-approve", abstract: "Approve a version under review.")
        @OptionGroup var clientOptions: ClientOptions
        @Argument var versionId: String
        @Option(help: "Review notes.") var notes: String?
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            let review = try await CLIClient.call { try await client.approveKYCVersion(id: versionId, reviewNotes: notes) }
            try KYCCommand.show(review, json: json, text: KYCCommand.describe)
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "version-reject", abstract: "Reject a version under review.")
        @OptionGroup var clientOptions: ClientOptions
        @Argument var versionId: String
        @Option(help: "Shown to the user; at least 10 characters.") var reason: String
        @Option(help: "Internal review notes.") var notes: String?
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            let review = try await CLIClient.call {
                try await client.rejectKYCVersion(id: versionId, rejectionReason: reason, reviewNotes: notes)
            }
            try KYCCommand.show(review, json: json, text: KYCCommand.describe)
        }
    }

    struct RequestUpdate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "version-request-update", abstract: "Ask the user for changes; the version stays under review.")
        @OptionGroup var clientOptions: ClientOptions
        @Argument var versionId: String
        @Option(help: "What to change; at least 10 characters.") var reason: String
        @Option(name: .customLong("required-field"), help: "A field or document type (repeatable).") var requiredFields: [String] = []
        @Option(name: .customLong("due-at"), help: "ISO 8601 time in the future.") var dueAt: String?
        @Option(help: "Review notes (default: the reason).") var notes: String?
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            let answer = try await CLIClient.call {
                try await client.requestKYCVersionUpdate(
                    id: versionId, reason: reason, requiredFields: requiredFields, dueAt: dueAt, reviewNotes: notes)
            }
            try KYCCommand.show(answer, json: json) { answer in
                let request = answer.actionRequest
                return [
                    "version \(answer.version.id) is \(answer.version.status) (changes requested)",
                    "  action request \(request.id) \(request.status)",
                    "  reason: \(request.reason)",
                    "  required: \(request.requiredFields.isEmpty ? "-" : request.requiredFields.joined(separator: ", "))",
                    "  due: \(request.dueAt ?? "-")",
                ].joined(separator: "\n")
            }
        }
    }

    struct Profile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a user's KYC profile.")
        @OptionGroup var clientOptions: ClientOptions
        @Argument var userId: String
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            let profile = try await CLIClient.call { try await client.kycProfile(userID: userId) }
            try KYCCommand.show(profile, json: json) { profile in
                var lines = [
                    "profile \(profile.userId): \(profile.status)\(profile.needsUpdate ? ", needs update" : "")",
                    "  name: \([profile.firstName, profile.lastName].compactMap { $0 }.joined(separator: " "))",
                ]
                if let approved = profile.approvedVersion {
                    lines.append("  approved: v\(approved.versionNumber) \(approved.id) at \(approved.reviewedAt ?? "-") by \(approved.reviewedBy ?? "-")")
                    lines.append("  content hash: \(approved.contentHash ?? "-")")
                } else {
                    lines.append("  approved: -")
                }
                if let latest = profile.latestVersion {
                    lines.append("  latest: v\(latest.versionNumber) \(latest.id) \(latest.status)\(latest.reviewOutcome.map { " (\($0))" } ?? "")")
                }
                for request in profile.openActionRequests {
                    lines.append("  open request \(request.id): \(request.reason) (due \(request.dueAt ?? "-"))")
                }
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a user's KYC versions.")
        @OptionGroup var clientOptions: ClientOptions
        @Argument var userId: String
        @Option(name: .customLong("status"), help: "Only these statuses (repeatable).") var statuses: [String] = []
        @Option var limit: Int = 20
        @Option var offset: Int = 0
        @Option(help: "asc or desc (by version number).") var order: String = "desc"
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            let page = try await CLIClient.call {
                try await client.kycVersions(userID: userId, statuses: statuses, limit: limit, offset: offset, orderDirection: order)
            }
            try KYCCommand.show(page, json: json) { page in
                var lines = page.items.map { version in
                    "v\(version.versionNumber)\t\(version.id)\t\(version.status)\t\(version.reviewOutcome ?? "-")\t\(version.submittedAt ?? "-")"
                }
                lines.append("\(page.items.count) of \(page.total) versions")
                return lines.joined(separator: "\n")
            }
        }
    }
}
