import Crypto
import Foundation
import Testing
import ClearanceStore
import ClearanceTestSupport

@Suite("Encryption at rest")
struct DataKeyTests {
    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("clearance-key-\(UUID().uuidString)")
            .appendingPathComponent("data.key").path
    }

    @Test func aFreshDatabaseGetsAKeyFileWithMode0600ThatOpensItAgain() async throws {
        try await TestDatabase.withStore { store, _ in
            let path = temporaryPath()
            let (sealer, origin) = try await DataKey.load(environmentValue: nil, keyFilePath: path, database: store.database)
            #expect(origin == .createdFile(path: path))
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)

            let sealed = try sealer.seal(string: "Zoë Šťastná", context: "people.name:1")
            let (again, againOrigin) = try await DataKey.load(
                environmentValue: nil, keyFilePath: path, database: store.database)
            #expect(againOrigin == .file(path: path))
            #expect(try again.openString(sealed, context: "people.name:1") == "Zoë Šťastná")
        }
    }

    @Test func aLostKeyFileIsAClearStartupError() async throws {
        try await TestDatabase.withStore { store, _ in
            let path = temporaryPath()
            _ = try await DataKey.load(environmentValue: nil, keyFilePath: path, database: store.database)
            try FileManager.default.removeItem(atPath: path)
            let error = await #expect(throws: DataKey.Failure.self) {
                try await DataKey.load(environmentValue: nil, keyFilePath: path, database: store.database)
            }
            #expect(error?.description.contains("restore the key") == true)
            #expect(!FileManager.default.fileExists(atPath: path), "a lost key must not be silently replaced")
        }
    }

    @Test func aWrongKeyIsRefused() async throws {
        try await TestDatabase.withStore { store, _ in
            _ = try await DataKey.load(environmentValue: nil, keyFilePath: temporaryPath(), database: store.database)
            let other = DataKey.encode(SymmetricKey(size: .bits256))
            let error = await #expect(throws: DataKey.Failure.self) {
                try await DataKey.load(environmentValue: other, keyFilePath: temporaryPath(), database: store.database)
            }
            #expect(error?.setting == "CLEARANCE_DATA_KEY")
            #expect(error?.description.contains("not the key this database was sealed with") == true)
        }
    }

    @Test func theEnvironmentKeyIsUsedAndMalformedOnesNamed() async throws {
        try await TestDatabase.withStore { store, _ in
            let key = SymmetricKey(size: .bits256)
            let hex = key.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }
            let (_, origin) = try await DataKey.load(environmentValue: hex, keyFilePath: temporaryPath(), database: store.database)
            #expect(origin == .environment)
            _ = try await DataKey.load(environmentValue: DataKey.encode(key), keyFilePath: temporaryPath(), database: store.database)
            let error = await #expect(throws: DataKey.Failure.self) {
                try await DataKey.load(environmentValue: "too-short", keyFilePath: temporaryPath(), database: store.database)
            }
            #expect(error?.setting == "CLEARANCE_DATA_KEY")
        }
    }

    @Test func sealedValuesAreBoundToTheirPlace() throws {
        let sealer = Sealer(key: SymmetricKey(size: .bits256))
        let sealed = try sealer.seal(string: "1990-01-31", context: "sessions.dob:a")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("1990"))
        #expect(throws: Sealer.OpenFailure.self) { try sealer.open(sealed, context: "sessions.dob:b") }
        var tampered = sealed
        tampered[tampered.count - 1] ^= 0x01
        #expect(throws: Sealer.OpenFailure.self) { try sealer.open(tampered, context: "sessions.dob:a") }
        #expect(throws: Sealer.OpenFailure.self) {
            try Sealer(key: SymmetricKey(size: .bits256)).open(sealed, context: "sessions.dob:a")
        }
    }
}
