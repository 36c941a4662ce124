import ClearanceClient
import Foundation
import SQLKit
import Testing
import ClearanceStore
import ClearanceTestSupport

/// Drives the real `clearance` binary, built beside the test bundle.
enum CLI {
    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("clearance")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The environment a fresh shell would give, less any CLEARANCE_ settings
    /// of the test run itself.
    static func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CLEARANCE_") }
        environment["CLEARANCE_LOG_LEVEL"] = "warning"
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    static func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = environment(extra)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("clearance-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A running `clearance serve`: its base URL and the lines it printed
    /// before listening.
    final class Server: @unchecked Sendable {
        let process = Process()
        let output = Pipe()
        let errors = Pipe()
        var baseURL = ""
        var printed: [String] = []

        init(_ arguments: [String], environment extra: [String: String]) throws {
            process.executableURL = CLI.binary
            process.arguments = ["serve", "--listen", "127.0.0.1:0"] + arguments
            process.environment = CLI.environment(extra)
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            var buffer = Data()
            let handle = output.fileHandleForReading
            while !String(decoding: buffer, as: UTF8.self).contains("listening on ") {
                let chunk = handle.availableData
                if chunk.isEmpty {
                    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    throw CLIError(message: "serve exited before listening: \(stderr)")
                }
                buffer.append(chunk)
            }
            while !String(decoding: buffer, as: UTF8.self).hasSuffix("\n") { buffer.append(handle.availableData) }
            printed = String(decoding: buffer, as: UTF8.self).split(separator: "\n").map(String.init)
            let line = printed.first { $0.contains("listening on ") }!
            baseURL = String(line.split(separator: " ")[3])
        }

        var adminKey: String? {
            printed.map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("clr_") }
        }

        func stop() -> Int32 {
            process.terminate()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    struct CLIError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

@Suite("clearance command line")
struct CLITests {
    @Test(arguments: [
        (["CLEARANCE_LISTEN": "nonsense"], "CLEARANCE_LISTEN"),
        (["CLEARANCE_LISTEN": "127.0.0.1:99999"], "CLEARANCE_LISTEN"),
        (["CLEARANCE_DATABASE_URL": "mysql://u@h/d"], "CLEARANCE_DATABASE_URL"),
        (["CLEARANCE_PUBLIC_URL": "ftp://x"], "CLEARANCE_PUBLIC_URL"),
        (["CLEARANCE_BODY_LIMIT": "lots"], "CLEARANCE_BODY_LIMIT"),
        (["CLEARANCE_LOG_LEVEL": "loud"], "CLEARANCE_LOG_LEVEL"),
        (["CLEARANCE_DATA_KEY": "short"], "CLEARANCE_DATA_KEY"),
    ])
    func aBadSettingIsOneLineNamingItAndExitStatus2(_ environment: [String: String], _ setting: String) throws {
        let directory = try CLI.temporaryDirectory()
        var environment = environment
        environment["CLEARANCE_DATA_DIR"] = directory
        let result = try CLI.run(["serve"], environment: environment)
        #expect(result.status == 2, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.contains(setting) == true, "\(result.stderr)")
    }

    @Test func migrateTwiceIsANoOp() async throws {
        let location = try await TestDatabase.freshLocation()
        defer { Task { try? await TestDatabase.drop(location) } }
        let environment = ["CLEARANCE_DATABASE_URL": location.url]
        let first = try CLI.run(["migrate"], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("applied migrations \(Migrations.all.map { String($0.version) }.joined(separator: ", ")) "))
        let second = try CLI.run(["migrate"], environment: environment)
        #expect(second.status == 0)
        #expect(second.stdout.contains("up to date"))
    }

    @Test func keysCreateListRevokeWorkOnTheDatabase() async throws {
        let directory = try CLI.temporaryDirectory()
        let environment = ["CLEARANCE_DATA_DIR": directory]
        #expect(try CLI.run(["migrate"], environment: environment).status == 0)
        let created = try CLI.run(
            ["keys", "create", "--name", "ci robot", "--privilege", "read:sessions", "--role", "claimIssuer", "--json"],
            environment: environment)
        #expect(created.status == 0, "\(created.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: String])
        let id = try #require(json["id"])
        #expect(json["key"]?.hasPrefix("clr_live_") == true)

        let listed = try CLI.run(["keys", "list"], environment: environment)
        #expect(listed.stdout.contains(id))
        #expect(listed.stdout.contains("active"))
        #expect(!listed.stdout.contains(json["key"]!))

        #expect(try CLI.run(["keys", "revoke", id], environment: environment).status == 0)
        #expect(try CLI.run(["keys", "list"], environment: environment).stdout.contains("revoked"))
        let unknown = try CLI.run(["keys", "revoke", UUID().uuidString], environment: environment)
        #expect(unknown.status == 1)

        let bad = try CLI.run(["keys", "create", "--name", "x", "--privilege", "everything"], environment: environment)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--privilege"))

        let verified = try CLI.run(["audit", "verify"], environment: environment)
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("intact: 2 entries"))
    }

    @Test func auditVerifyFindsATamperedRow() async throws {
        try await TestDatabase.withStore { store, location in
            for index in 0..<3 {
                _ = try await APIKeyServiceHelper.create(store, name: "k\(index)")
            }
            let environment = ["CLEARANCE_DATABASE_URL": location.url]
            #expect(try CLI.run(["audit", "verify"], environment: environment).stdout.contains("intact: 3 entries"))
            try await store.database.transaction { sql in
                try await sql.update("audit_log").set("actor", to: "key:someone-else").where("sequence", .equal, 2).run()
            }
            let broken = try CLI.run(["audit", "verify"], environment: environment)
            #expect(broken.status == 1)
            #expect(broken.stderr.contains("entry 2 was altered"), "\(broken.stderr)")
        }
    }

    @Test func serveFirstStartPrintsOneAdminKeyOnceAndTheKeyWorks() async throws {
        let directory = try CLI.temporaryDirectory()
        let keyFile = directory + "/admin.key"
        let environment = ["CLEARANCE_DATA_DIR": directory]
        let server = try CLI.Server(["--admin-key-file", keyFile], environment: environment)
        let adminKey = try #require(server.adminKey)
        #expect(try String(contentsOfFile: keyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == adminKey)
        let mode = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect((try FileManager.default.attributesOfItem(atPath: directory + "/data.key")[.posixPermissions] as? Int) == 0o600)

        let client = ClearanceClient(baseURL: server.baseURL, apiKey: adminKey)
        #expect(try await client.health().status == "ok")
        let keys = try await client.listAPIKeys()
        #expect(keys.count == 1)
        #expect(keys.results.first?.roles == ["admin"])
        let audit = try await client.auditEntries()
        #expect(audit.results.first?.action == "api_key.created")
        await #expect(throws: ClientError.self) {
            try await ClearanceClient(baseURL: server.baseURL, apiKey: "clr_live_nope").listAPIKeys()
        }
        let defaultLine = try #require(server.printed.first { $0.contains("default KYC workflow") })
        let defaultID = String(try #require(defaultLine.split(separator: " ").last))
        let workflows = try await client.listWorkflows()
        #expect(workflows.results.map(\.workflow_id) == [defaultID])
        #expect(workflows.results.first?.is_default == true)

        let cli = ["CLEARANCE_SERVER": server.baseURL, "CLEARANCE_API_KEY": adminKey]
        let created = try CLI.run(
            ["workflows", "create", "--name", "Business onboarding", "--kind", "business", "--feature", "KYB",
             "--feature", "KYB_KEY_PEOPLE", "--feature", "AML", "--four-eyes", "--json"], environment: cli)
        #expect(created.status == 0, "\(created.stderr)")
        let createdJSON = try #require(try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])
        let newID = try #require(createdJSON["workflow_id"] as? String)
        let shown = try CLI.run(["workflows", "show", newID], environment: cli)
        #expect(shown.stdout.contains("feature_kyb_registry=KYB_REGISTRY → feature_kyb_key_people=KYB_KEY_PEOPLE → feature_aml=AML"), "\(shown.stdout)")
        #expect(shown.stdout.contains("four eyes on"))
        let listed = try CLI.run(["workflows", "list"], environment: cli)
        #expect(listed.stdout.contains(defaultID) && listed.stdout.contains(newID))
        let refused = try CLI.run(["workflows", "create", "--name", "bad", "--feature", "FACE_MATCH"], environment: cli)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("HTTP 400") && refused.stderr.contains("OCR"), "\(refused.stderr)")
        let unauthenticated = try CLI.run(["workflows", "list"], environment: ["CLEARANCE_SERVER": server.baseURL])
        #expect(unauthenticated.status == 1)
        #expect(unauthenticated.stderr.contains("HTTP 401"))

        #expect(server.stop() == 0, "SIGTERM is a graceful stop")

        let again = try CLI.Server([], environment: environment)
        #expect(again.adminKey == nil, "the admin key is printed on first start only")
        #expect(again.printed.contains { $0.hasSuffix(defaultID) }, "the same default workflow on every start")
        _ = again.stop()
    }

    @Test func sessionsListShowAndUpdateStatusThroughTheServer() async throws {
        let directory = try CLI.temporaryDirectory()
        let environment = ["CLEARANCE_DATA_DIR": directory]
        let server = try CLI.Server([], environment: environment)
        defer { _ = server.stop() }
        let created = try CLI.run(
            ["keys", "create", "--name", "sandbox", "--environment", "sandbox", "--privilege", "read:sessions",
             "--privilege", "write:sessions", "--privilege", "read:workflows", "--json"], environment: environment)
        let key = try #require((try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: String])?["key"])
        let client = ClearanceClient(baseURL: server.baseURL, apiKey: key)
        let workflow = try #require(try await client.listWorkflows().results.first)
        let session = try await client.createSession(
            SessionCreate(workflow_id: workflow.workflow_id, vendor_data: "cli-user", sandbox_scenario: "review_aml_possible_match"))
        #expect(session.status == "In Review")

        let cli = ["CLEARANCE_SERVER": server.baseURL, "CLEARANCE_API_KEY": key]
        let listed = try CLI.run(["sessions", "list", "--status", "IN_REVIEW"], environment: cli)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains(session.session_id) && listed.stdout.contains("1 of 1 sessions"))
        let shown = try CLI.run(["sessions", "show", session.session_id], environment: cli)
        #expect(shown.stdout.contains("status:   In Review"), "\(shown.stdout)")
        #expect(shown.stdout.contains("node feature_aml (aml_screenings): In Review"))
        let decided = try CLI.run(["sessions", "update-status", session.session_id, "Approved", "--comment", "false positive"], environment: cli)
        #expect(decided.status == 0, "\(decided.stderr)")
        #expect(decided.stdout.contains("is Approved"))
        let after = try CLI.run(["sessions", "show", session.session_id], environment: cli)
        #expect(after.stdout.contains("In Review → Approved by key:"), "\(after.stdout)")
        #expect(after.stdout.contains("false positive"))
        let missing = try CLI.run(["sessions", "update-status", UUID().uuidString, "Approved"], environment: cli)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("HTTP 404"))
        let refused = try CLI.run(["sessions", "update-status", session.session_id, "Resubmitted", "--node", "feature_x"], environment: cli)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("HTTP 400"))
    }

    @Test func theWorkerRunsAloneAndStopsGracefully() throws {
        let directory = try CLI.temporaryDirectory()
        let environment = CLI.environment(["CLEARANCE_DATA_DIR": directory])
        #expect(try CLI.run(["migrate"], environment: ["CLEARANCE_DATA_DIR": directory]).status == 0)
        let process = Process()
        process.executableURL = CLI.binary
        process.arguments = ["worker"]
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = Pipe()
        try process.run()
        var printed = Data()
        while !String(decoding: printed, as: UTF8.self).contains("worker running") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            printed.append(chunk)
        }
        #expect(String(decoding: printed, as: UTF8.self).contains("worker running"))
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func aLostDataKeyStopsStartup() throws {
        let directory = try CLI.temporaryDirectory()
        let environment = ["CLEARANCE_DATA_DIR": directory]
        #expect(try CLI.run(["migrate"], environment: environment).status == 0)
        _ = try CLI.Server([], environment: environment).stop()
        try FileManager.default.removeItem(atPath: directory + "/data.key")
        let result = try CLI.run(["serve", "--listen", "127.0.0.1:0"], environment: environment)
        #expect(result.status == 2)
        #expect(result.stderr.contains("CLEARANCE_DATA_KEY"))
        #expect(result.stderr.contains("restore the key"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/data.key"))
    }

    @Test func aNewerSchemaOrPendingMigrationsStopStartup() async throws {
        let directory = try CLI.temporaryDirectory()
        let environment = ["CLEARANCE_DATA_DIR": directory]
        let pending = try CLI.run(["serve", "--no-migrate", "--listen", "127.0.0.1:0"], environment: environment)
        #expect(pending.status == 1)
        #expect(pending.stderr.contains("clearance migrate"))

        #expect(try CLI.run(["migrate"], environment: environment).status == 0)
        let database = try await DatabaseFactory.open(.sqliteFile(path: directory + "/clearance.db"), logger: TestDatabase.logger)
        try await database.transaction { sql in
            try await sql.insert(into: "schema_migrations").columns("version", "name", "applied_at")
                .values(SQLBind(999), SQLBind("future"), SQLBind(0)).run()
        }
        await database.close()
        let newer = try CLI.run(["serve", "--listen", "127.0.0.1:0"], environment: environment)
        #expect(newer.status == 1)
        #expect(newer.stderr.contains("newer clearance"), "\(newer.stderr)")
    }
}

import ClearanceServer

enum APIKeyServiceHelper {
    static func create(_ store: Store, name: String) async throws -> String {
        try await APIKeyService(store: store).create(
            .init(name: name, environment: .live, privileges: [.readAudit], roles: []), actor: "test", requestID: nil,
            now: Date()
        ).1
    }
}
