import Crypto
import Foundation

/// Random ids and secrets, and the one-way hash under which secrets are stored.
public enum Secrets {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// `prefix` + 24 random base-62 characters (about 143 bits), e.g. `use_3fK...`.
    public static func id(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return prefix + String((0..<24).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// A 32-character secret (write keys, access tokens).
    public static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// SHA-256 hex: secrets are high-entropy, so a fast hash is enough and lookups stay indexable.
    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
