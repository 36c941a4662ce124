import ClearanceDomain
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

    /// A fresh key for one subject (a session), wrapped by this key so that
    /// deleting the wrapped copy makes the subject's data unreadable.
    public func makeSubjectKey(context: String) throws -> (Sealer, wrapped: Data) {
        let key = SymmetricKey(size: .bits256)
        let wrapped = try key.withUnsafeBytes { try seal(Data($0), context: context) }
        return (Sealer(key: key), wrapped)
    }

    public func openSubjectKey(_ wrapped: Data, context: String) throws -> Sealer {
        Sealer(key: SymmetricKey(data: try open(wrapped, context: context)))
    }

    /// A keyed, deterministic token for exact-match search over sealed
    /// fields (a blind index): equal inputs give equal tokens, and the token
    /// reveals nothing without the data key.
    public func blindIndex(_ text: String) -> String {
        let searchKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key, info: Data("clearance search index v1".utf8), outputByteCount: 32)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: searchKey)
        return Hex.encode(Data(mac).prefix(12))
    }
}
