import Crypto
import Foundation

/// Seals provider secrets at rest (AES-256-GCM, bound to the row they belong to) and signs
/// unsubscribe links, with keys derived from one 32-byte key from the environment.
public struct SecretBox: Sendable {
    // Key bytes, not SymmetricKey (not Sendable in this swift-crypto); keys are rebuilt per use.
    private let sealingKeyBytes: Data
    private let linkKeyBytes: Data
    private var sealingKey: SymmetricKey { SymmetricKey(data: sealingKeyBytes) }
    var linkKey: SymmetricKey { SymmetricKey(data: linkKeyBytes) }

    public struct InvalidKey: Error, CustomStringConvertible {
        public var description: String
    }

    /// `base64Key`: 32 random bytes in base64 (`openssl rand -base64 32`).
    public init(base64Key: String) throws {
        guard let bytes = Data(base64Encoded: base64Key.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else {
            throw InvalidKey(description: "ENGAGE_SECRETS_KEY must be 32 random bytes in base64, e.g. the output of `openssl rand -base64 32`")
        }
        let master = SymmetricKey(data: bytes)
        sealingKeyBytes = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data("swift-engage provider secrets".utf8), outputByteCount: 32)
            .withUnsafeBytes { Data($0) }
        linkKeyBytes = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data("swift-engage unsubscribe links".utf8), outputByteCount: 32)
            .withUnsafeBytes { Data($0) }
    }

    public func seal(_ plaintext: Data, context: String) throws -> Data {
        guard let combined = try AES.GCM.seal(plaintext, using: sealingKey, authenticating: Data(context.utf8)).combined else {
            throw InvalidKey(description: "AES-GCM produced no combined box")
        }
        return combined
    }

    /// Fails when the key changed or the row was copied to another space or provider.
    public func open(_ sealed: Data, context: String) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: sealingKey, authenticating: Data(context.utf8))
    }
}
