import Crypto
import Foundation

extension Sealer {
    /// A key for one purpose (e.g. email preview tokens) derived from the
    /// data key, so no second secret needs keeping and the data key itself
    /// is never used for two things.
    public func derivedKey(purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data("clearance \(purpose) v1".utf8), outputByteCount: 32)
    }
}
