import Crypto
import Foundation

/// Signs deliveries the Standard Webhooks way (standardwebhooks.com), so receivers can verify them
/// with that project's libraries or a few lines of code:
/// `webhook-signature: v1,<base64 of HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`,
/// where the key is the base64 text after `whsec_` in the destination's secret.
public enum WebhookSignature {
    public static let idHeader = "webhook-id"
    public static let timestampHeader = "webhook-timestamp"
    public static let signatureHeader = "webhook-signature"

    /// A new secret: `whsec_` and 32 random bytes in base64.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "whsec_" + Data(bytes).base64EncodedString()
    }

    public static func sign(secret: String, id: String, timestamp: Int64, body: [UInt8]) -> String {
        let keyText = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        let key = SymmetricKey(data: Data(base64Encoded: keyText) ?? Data(keyText.utf8))
        var content = Array("\(id).\(timestamp).".utf8)
        content += body
        let mac = HMAC<SHA256>.authenticationCode(for: content, using: key)
        return "v1," + Data(mac).base64EncodedString()
    }
}
