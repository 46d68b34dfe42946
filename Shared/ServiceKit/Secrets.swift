import Crypto
import Foundation

/// Random ids and secrets, and the one-way hash under which secrets are stored.
public enum Secrets {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// `prefix` + 24 random base-62 characters (about 143 bits), e.g. `use_3fK...`.
    public static func id(_ prefix: String) -> String {
        prefix + randomBase62(count: 24)
    }

    /// A 32-character secret (write keys, access tokens).
    public static func token() -> String {
        randomBase62(count: 32)
    }

    /// Uniform base-62 characters, ten from each random 64-bit word. Asking the system generator
    /// for a word per character cost a system call each: 6.6 % of the profiles service's CPU in a
    /// CSV import, which makes an id per new profile.
    static func randomBase62(count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String(unsafeUninitializedCapacity: count) { buffer in
            var filled = 0
            while filled < count {
                let word = generator.next()
                // Only words below the largest multiple of 62^10 give ten uniform digits.
                guard word < base62WordLimit else { continue }
                var digits = word % base62TenDigits
                for _ in 0..<min(10, count - filled) {
                    buffer[filled] = alphabet[Int(digits % 62)]
                    digits /= 62
                    filled += 1
                }
            }
            return count
        }
    }

    /// 62^10, the ten base-62 digits one 64-bit word holds, and the largest multiple of it a word
    /// can take (words at or above it are drawn again: 4.4 % of them).
    private static let base62TenDigits: UInt64 = 839_299_365_868_340_224
    private static let base62WordLimit: UInt64 = (UInt64.max / base62TenDigits) * base62TenDigits

    /// SHA-256 hex: secrets are high-entropy, so a fast hash is enough and lookups stay indexable.
    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
