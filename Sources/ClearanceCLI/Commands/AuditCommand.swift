import ArgumentParser
import Foundation
import ClearanceClient
import ClearanceServer
import ClearanceStore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Read and verify the audit trail.", subcommands: [Verify.self, List.self])

    /// Walks the whole chain in the database; exit 1 when it is broken.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the hash chain: detects altered, removed or reordered entries.")
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            let (location, _) = try Runtime.location(storeOptions)
            let database = try await Runtime.openDatabase(location)
            let result: AuditVerification
            do {
                result = try await SQLAuditTrail(database: database).verify()
            } catch {
                await database.close()
                throw error
            }
            await database.close()
            if let problem = result.problem {
                throw CommandFailure("audit trail BROKEN after \(result.checked) good entries: \(problem)")
            }
            print("audit trail intact: \(result.checked) entries")
        }
    }

    /// Lists entries through a running server (privilege read:audit).
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List entries from a running server.")
        @OptionGroup var clientOptions: ClientOptions
        @Option(name: .customLong("subject-id")) var subjectID: String?
        @Option var limit: Int = 50
        @Flag var json = false

        func run() async throws {
            let client = try clientOptions.client()
            let page = try await CLIClient.call { try await client.auditEntries(subjectID: subjectID, limit: limit) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(page.results), as: UTF8.self))
                return
            }
            for entry in page.results {
                print("\(entry.sequence)\t\(entry.at)\t\(entry.actor)\t\(entry.action)\t\(entry.subject_type):\(entry.subject_id)")
            }
            print("\(page.results.count) of \(page.count) entries")
        }
    }
}

extension ClientOptions {
    func client() throws -> ClearanceClient {
        let environment = Runtime.environment
        let base = try Settings.server(flag: server, environment: environment)
        return ClearanceClient(baseURL: base, apiKey: apiKey ?? environment["CLEARANCE_API_KEY"])
    }
}

enum CLIClient {
    /// Runs a client call, turning a refused answer into one line and exit 1.
    static func call<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as ClientError {
            throw CommandFailure(error.description)
        }
    }
}
