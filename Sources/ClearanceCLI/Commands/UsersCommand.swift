import ArgumentParser
import Foundation
import ClearanceDomain
import ClearanceServer
import ClearanceStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `clearance users create|list|disable`: reviewer console accounts, on the
/// database directly (like `keys`): the first administrator has to exist
/// before anyone can sign in, and the HTTP API has no password endpoints.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage reviewer console users in the database.",
        subcommands: [Create.self, List.self, Disable.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a console user. The password is read from standard input, never from a flag.")

        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "Sign-in email.") var email: String
        @Option(help: "Name shown to colleagues (default: the email).") var name: String?
        @Option(name: .customLong("role"), help: "A role (repeatable): reviewer, claimIssuer, identityManager, admin.")
        var roles: [String] = []
        @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.")
        var passwordStdin = false

        func run() async throws {
            let roles = try roles.map { text -> ConsoleRole in
                guard let role = ConsoleRole(rawValue: text) else {
                    throw ConfigurationError(
                        setting: "--role", "unknown role '\(text)'; expected one of: \(ConsoleRole.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return role
            }
            guard !roles.isEmpty else { throw ConfigurationError(setting: "--role", "give at least one --role") }
            let password = try Self.readPassword(fromStdin: passwordStdin)
            let store = try await Runtime.openStore(storeOptions, migrate: false)
            do {
                let user = try await ConsoleAccountService(store: store).create(
                    email: email, displayName: name, password: password, roles: roles, actor: "cli", now: Date())
                await store.database.close()
                print("created console user \(user.id) (\(user.email); \(user.roles.map(\.rawValue).joined(separator: ",")))")
            } catch {
                await store.database.close()
                if let refusal = error as? ConsoleAccountService.Refusal {
                    throw ConfigurationError(setting: refusal.field == "password" ? "password" : "--\(refusal.field)", refusal.message)
                }
                throw error
            }
        }

        static func readPassword(fromStdin: Bool) throws -> String {
            if fromStdin {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw ConfigurationError(setting: "password", "standard input had no password line")
                }
                return line
            }
            guard isatty(STDIN_FILENO) == 1, let typed = getpass("Password for the new console user: ") else {
                throw ConfigurationError(setting: "password", "pass --password-stdin or run on a terminal to type it")
            }
            return String(cString: typed)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List console users (never their password hashes).")
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            let store = try await Runtime.openStore(storeOptions, migrate: false)
            let users = try await ConsoleAccountService(store: store).list()
            await store.database.close()
            let now = Date()
            print(["ID", "EMAIL", "ROLES", "STATE", "LAST SIGN-IN"].joined(separator: "\t"))
            for user in users {
                let state = user.disabledAt != nil ? "disabled" : ((user.lockedUntil.map { $0 > now } ?? false) ? "locked" : "active")
                print(
                    [
                        user.id, user.email, user.roles.map(\.rawValue).joined(separator: ","), state,
                        user.lastLoginAt.map(Timestamp.iso8601) ?? "-",
                    ].joined(separator: "\t"))
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a console user (by email or id) and end their sessions.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The user's email or id.") var user: String

        func run() async throws {
            let store = try await Runtime.openStore(storeOptions, migrate: false)
            let disabled = try await ConsoleAccountService(store: store).disable(user, actor: "cli", now: Date())
            await store.database.close()
            guard let disabled else { throw CommandFailure("no console user \(user)") }
            print("disabled console user \(disabled.id) (\(disabled.email))")
        }
    }
}
