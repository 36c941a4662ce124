import ArgumentParser
import Foundation
import ClearanceDomain
import ClearanceServer
import ClearanceStore

/// `clearance keys create|list|revoke`, on the database directly, so an
/// operator can mint a key before any server runs or after losing them all.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage API keys in the database.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it once.")

        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "A name people recognise.") var name: String
        @Option(help: "live or sandbox.") var environment: String = "live"
        @Option(name: .customLong("privilege"), help: "A privilege (repeatable), e.g. read:sessions.")
        var privileges: [String] = []
        @Option(name: .customLong("role"), help: "A role (repeatable): admin, identityManager, claimIssuer, systemManager.")
        var roles: [String] = []
        @Option(name: .customLong("expires-at"), help: "ISO 8601 expiry.") var expiresAt: String?
        @Flag(help: "Print the key as JSON.") var json = false

        func run() async throws {
            var issues: [FieldIssue] = []
            let environment = KeyEnvironment(rawValue: environment)
            if environment == nil { issues.append(FieldIssue(path: "--environment", message: "must be live or sandbox")) }
            let privileges = privileges.compactMap { text -> Privilege? in
                guard let value = Privilege(rawValue: text) else {
                    issues.append(FieldIssue(path: "--privilege", message: "unknown privilege '\(text)'"))
                    return nil
                }
                return value
            }
            let roles = roles.compactMap { text -> Role? in
                guard let value = Role(rawValue: text) else {
                    issues.append(FieldIssue(path: "--role", message: "unknown role '\(text)'"))
                    return nil
                }
                return value
            }
            var expiry: Date?
            if let expiresAt {
                expiry = Timestamp.parse(expiresAt)
                if expiry == nil { issues.append(FieldIssue(path: "--expires-at", message: "not an ISO 8601 time")) }
            }
            if privileges.isEmpty && roles.isEmpty && issues.isEmpty {
                issues.append(FieldIssue(path: "--privilege", message: "give at least one --privilege or --role"))
            }
            guard issues.isEmpty, let environment else {
                throw ConfigurationError(setting: issues[0].path, issues.map(\.message).joined(separator: "; "))
            }
            let store = try await Runtime.openStore(storeOptions, migrate: false)
            let (record, key) = try await APIKeyService(store: store).create(
                .init(name: name, environment: environment, privileges: privileges, roles: roles, expiresAt: expiry),
                actor: "cli", requestID: nil, now: Date())
            await store.database.close()
            if json {
                print(#"{"id":"\#(record.id)","key":"\#(key)"}"#)
            } else {
                print("created key \(record.id) (\(record.name), \(record.environment.rawValue)); shown once:")
                print("  \(key)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            let store = try await Runtime.openStore(storeOptions, migrate: false)
            let keys = try await store.apiKeys.list()
            await store.database.close()
            let now = Date()
            print(["ID", "NAME", "ENV", "PREFIX", "STATE", "PRIVILEGES/ROLES", "LAST USED"].joined(separator: "\t"))
            for key in keys {
                let state = key.revokedAt != nil ? "revoked" : (key.isActive(at: now) ? "active" : "expired")
                let grants = (key.roles.map(\.rawValue) + key.privileges.map(\.rawValue)).joined(separator: ",")
                print(
                    [
                        key.id, key.name, key.environment.rawValue, key.displayPrefix, state, grants,
                        key.lastUsedAt.map(Timestamp.iso8601) ?? "-",
                    ].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The key's id.") var id: String

        func run() async throws {
            let store = try await Runtime.openStore(storeOptions, migrate: false)
            let revoked = try await APIKeyService(store: store).revoke(
                id: id.lowercased(), actor: "cli", requestID: nil, now: Date())
            await store.database.close()
            guard revoked != nil else { throw CommandFailure("no API key with id \(id)") }
            print("revoked key \(id)")
        }
    }
}
