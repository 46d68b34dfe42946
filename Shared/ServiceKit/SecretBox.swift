import Crypto
import Foundation

/// Seals secrets at rest (AES-256-GCM, bound to the row they belong to: messaging-send's provider
/// credentials, events-source's webhook signing secrets) and signs unsubscribe links, with keys
/// derived from one 32-byte key from the environment (`ENGAGE_SECRETS_KEY`).
public struct SecretBox: Sendable {
    // Key bytes, not SymmetricKey (not Sendable in this swift-crypto); keys are rebuilt per use.
    private let sealingKeyBytes: Data
    private let linkKeyBytes: Data
    private var sealingKey: SymmetricKey { SymmetricKey(data: sealingKeyBytes) }
    /// The key unsubscribe links are signed with (messaging-send).
    public var linkKey: SymmetricKey { SymmetricKey(data: linkKeyBytes) }

    public struct InvalidKey: Error, CustomStringConvertible {
        public var description: String
    }

    /// `base64Key`: 32 random bytes in base64 (`openssl rand -base64 32`).
    public init(base64Key: String) throws {
        guard let bytes = Data(base64Encoded: base64Key.trimmingCharacters(in: .whitespacesAndNewlines)),
            bytes.count == 32
        else {
            throw InvalidKey(
                description:
                    "ENGAGE_SECRETS_KEY must be 32 random bytes in base64, e.g. the output of `openssl rand -base64 32`"
            )
        }
        let master = SymmetricKey(data: bytes)
        // The info string predates events-source; kept so that sealed provider secrets stay readable.
        sealingKeyBytes = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master, info: Data("swift-engage provider secrets".utf8), outputByteCount: 32
        )
        .withUnsafeBytes { Data($0) }
        linkKeyBytes = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master, info: Data("swift-engage unsubscribe links".utf8), outputByteCount: 32
        )
        .withUnsafeBytes { Data($0) }
    }

    /// The box for `ENGAGE_SECRETS_KEY`; a missing or malformed key is a configuration error.
    /// `purpose` completes the message, e.g. "it seals webhook signing secrets".
    public static func fromEnvironment(_ env: EnvironmentVariables, purpose: String) throws -> SecretBox {
        let key = try env.secret(
            "ENGAGE_SECRETS_KEY", hint: "32 random bytes in base64 (`openssl rand -base64 32`); \(purpose)")
        do {
            return try SecretBox(base64Key: key)
        } catch let error as InvalidKey {
            throw ServiceConfigError(error.description)
        }
    }

    /// `context` names the row (each service its own form), so a sealed value copied to another row does not open.
    public func seal(_ plaintext: Data, context: String) throws -> Data {
        guard let combined = try AES.GCM.seal(plaintext, using: sealingKey, authenticating: Data(context.utf8)).combined
        else {
            throw InvalidKey(description: "AES-GCM produced no combined box")
        }
        return combined
    }

    /// Fails when the key changed or the row was copied to another space or provider.
    public func open(_ sealed: Data, context: String) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: sealingKey, authenticating: Data(context.utf8))
    }
}
