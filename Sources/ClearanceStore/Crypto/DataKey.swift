import Crypto
import Foundation
import SQLKit

/// Finds the data key that seals personal data, creating it on a fresh
/// install, and proves it is the key this database was sealed with (a sealed
/// check value kept in `settings`), so a lost or wrong key stops startup with
/// a clear message instead of producing garbage later.
public enum DataKey {
    public struct Failure: Error, CustomStringConvertible {
        public var setting: String
        public var description: String
    }

    static let checkSetting = "data_key_check"
    static let checkPlaintext = "clearance data key check v1"
    static let checkContext = "settings.data_key_check"

    /// Where the key came from, for the startup log.
    public enum Origin: Sendable, Equatable {
        case environment
        case file(path: String)
        case createdFile(path: String)
    }

    /// Parses 32 bytes given as base64, base64url or 64 hex digits.
    public static func parse(_ text: String) -> SymmetricKey? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.count == 64, let bytes = hexBytes(trimmed) { return SymmetricKey(data: bytes) }
        var base64 = trimmed.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        if let data = Data(base64Encoded: base64), data.count == 32 { return SymmetricKey(data: data) }
        return nil
    }

    public static func encode(_ key: SymmetricKey) -> String {
        key.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    /// Loads (or on a fresh database creates) the key and checks it against
    /// the database.
    public static func load(
        environmentValue: String?, keyFilePath: String, database: any Database
    ) async throws -> (Sealer, Origin) {
        let settings = SettingsRepository(database: database)
        let check = try await settings.get(checkSetting)

        let key: SymmetricKey
        let origin: Origin
        if let environmentValue, !environmentValue.isEmpty {
            guard let parsed = parse(environmentValue) else {
                throw Failure(
                    setting: "CLEARANCE_DATA_KEY",
                    description: "CLEARANCE_DATA_KEY must be 32 bytes written as base64 or 64 hex digits")
            }
            key = parsed
            origin = .environment
        } else if FileManager.default.fileExists(atPath: keyFilePath) {
            let text = try String(contentsOfFile: keyFilePath, encoding: .utf8)
            guard let parsed = parse(text) else {
                throw Failure(
                    setting: "CLEARANCE_DATA_KEY_FILE",
                    description: "the data key file \(keyFilePath) does not hold a 32-byte key (base64 or hex)")
            }
            key = parsed
            origin = .file(path: keyFilePath)
        } else if check == nil {
            key = SymmetricKey(size: .bits256)
            try writeKeyFile(key, to: keyFilePath)
            origin = .createdFile(path: keyFilePath)
        } else {
            throw Failure(
                setting: "CLEARANCE_DATA_KEY",
                description:
                    "this database holds personal data sealed with a data key, but CLEARANCE_DATA_KEY is unset and the key file \(keyFilePath) is missing: restore the key (without it the sealed data cannot be read)"
            )
        }

        let sealer = Sealer(key: key)
        if let check {
            guard let sealed = Data(base64Encoded: check),
                (try? sealer.openString(sealed, context: checkContext)) == checkPlaintext
            else {
                throw Failure(
                    setting: origin == .environment ? "CLEARANCE_DATA_KEY" : "CLEARANCE_DATA_KEY_FILE",
                    description:
                        "the data key \(origin.label) is not the key this database was sealed with: restore the original key"
                )
            }
        } else {
            let sealed = try sealer.seal(string: checkPlaintext, context: checkContext)
            try await settings.setIfAbsent(checkSetting, value: sealed.base64EncodedString())
            // Another process may have won the race with its own key: re-check.
            if let stored = try await settings.get(checkSetting),
                let data = Data(base64Encoded: stored),
                (try? sealer.openString(data, context: checkContext)) != checkPlaintext
            {
                throw Failure(
                    setting: "CLEARANCE_DATA_KEY",
                    description: "another process initialised this database with a different data key")
            }
        }
        return (sealer, origin)
    }

    /// Creates the key file with mode 0600; refuses to overwrite.
    static func writeKeyFile(_ key: SymmetricKey, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            throw Failure(
                setting: "CLEARANCE_DATA_KEY_FILE",
                description: "cannot create the data key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let bytes = Array((encode(key) + "\n").utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
            throw Failure(setting: "CLEARANCE_DATA_KEY_FILE", description: "cannot write the data key file \(path)")
        }
    }
}

extension DataKey.Origin {
    var label: String {
        switch self {
        case .environment: "from CLEARANCE_DATA_KEY"
        case .file(let path), .createdFile(let path): "in \(path)"
        }
    }
}
