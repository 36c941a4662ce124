import ArgumentParser
import Foundation
import Logging

/// `clearance`: the one executable. Subcommands parse, call and print.
public struct ClearanceCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "clearance",
        abstract: "Self-hosted KYC/KYB verification and compliance review.",
        subcommands: [ServeCommand.self, WorkerCommand.self, MigrateCommand.self, KeysCommand.self, WorkflowsCommand.self, SessionsCommand.self, AuditCommand.self, KYCCommand.self, UsersCommand.self]
    )

    public init() {}

    /// Entry point: runs the command; a bad setting exits 2 with one line
    /// naming it, any other failure exits 1 with one line.
    public static func run(arguments: [String]? = nil, bootstrapLogging: Bool = true) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if bootstrapLogging { try Self.bootstrapLogging() }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("clearance: \(error.description)\n".utf8))
            return 2
        } catch let error as CommandFailure {
            FileHandle.standardError.write(Data("clearance: \(error.description)\n".utf8))
            return error.exitCode
        } catch {
            let code = exitCode(for: error)
            if code != .success {
                let message = fullMessage(for: error)
                if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            } else {
                print(fullMessage(for: error))
            }
            return code.rawValue
        }
    }

    static func bootstrapLogging() throws {
        let level = try Settings.logLevel(flag: nil, environment: ProcessInfo.processInfo.environment)
        LoggingSystem.bootstrap { label in
            var handler = DeferredMetadataLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = Logger.Level(rawValue: level) ?? .info
            return handler
        }
    }
}
