import Crypto
import Foundation

/// Seals personal fields with AES-256-GCM before they reach the database.
/// The associated data names where a value belongs (`table.column:row id`),
/// so a sealed value copied onto another row does not open there.
public struct Sealer: Sendable {
    public struct OpenFailure: Error, CustomStringConvertible {
        public var description: String { "a sealed value could not be opened (wrong data key or altered data)" }
    }

    static let formatVersion: UInt8 = 1
    let key: SymmetricKey

    public init(key: SymmetricKey) {
        precondition(key.bitCount == 256, "the data key must be 256 bits")
        self.key = key
    }

    /// `version ‖ nonce ‖ ciphertext ‖ tag`.
    public func seal(_ plaintext: some DataProtocol, context: String) throws -> Data {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Data(context.utf8))
        var out = Data([Self.formatVersion])
        out.append(box.combined!)
        return out
    }

    public func open(_ sealed: Data, context: String) throws -> Data {
        guard sealed.first == Self.formatVersion else { throw OpenFailure() }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
            return try AES.GCM.open(box, using: key, authenticating: Data(context.utf8))
        } catch {
            throw OpenFailure()
        }
    }

    public func seal(string: String, context: String) throws -> Data {
        try seal(Data(string.utf8), context: context)
    }

    public func openString(_ sealed: Data, context: String) throws -> String {
        String(decoding: try open(sealed, context: context), as: UTF8.self)
    }
}
