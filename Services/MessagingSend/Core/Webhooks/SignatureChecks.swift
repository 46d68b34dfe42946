import Crypto
import Foundation

/// The signatures providers put on their callbacks, checked exactly as they compute them.
public enum SignatureChecks {
    /// SendGrid's Signed Event Webhook has no documented replay window; this service allows 10 minutes.
    public static let sendGridReplayWindow: TimeInterval = 600

    public static func sendGridPublicKey(_ base64DER: String) throws -> P256.Signing.PublicKey {
        guard let der = Data(base64Encoded: base64DER.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SignatureFailure("the public key is not base64")
        }
        return try P256.Signing.PublicKey(derRepresentation: der)
    }

    /// ECDSA P-256/SHA-256 over the timestamp header's text followed by the raw body, as received.
    public static func checkSendGrid(
        publicKey: String, signature: String?, timestamp: String?, body: [UInt8], now: Date = Date()
    ) throws {
        guard let signature, let timestamp else {
            throw SignatureFailure(
                "X-Twilio-Email-Event-Webhook-Signature and X-Twilio-Email-Event-Webhook-Timestamp are required")
        }
        guard let seconds = TimeInterval(timestamp) else { throw SignatureFailure("the timestamp is not unix seconds") }
        guard abs(now.timeIntervalSince1970 - seconds) <= sendGridReplayWindow else {
            throw SignatureFailure(
                "the timestamp is more than \(Int(sendGridReplayWindow)) s away from now (replayed or clock skew)")
        }
        guard let der = Data(base64Encoded: signature),
            let ecdsa = try? P256.Signing.ECDSASignature(derRepresentation: der)
        else {
            throw SignatureFailure("the signature is not a base64 DER ECDSA signature")
        }
        let key = try sendGridPublicKey(publicKey)
        guard key.isValidSignature(ecdsa, for: Data(timestamp.utf8) + Data(body)) else {
            throw SignatureFailure("the signature does not match the body")
        }
    }

    /// `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the account's auth token, of the URL Twilio
    /// requested followed by each form parameter's name and value in name order (a repeated name's
    /// values sorted). The URL is tried as given and with/without the scheme's default port.
    public static func checkTwilio(authToken: String, signature: String?, url: String, parameters: [(String, String)])
        throws
    {
        guard let signature else { throw SignatureFailure("X-Twilio-Signature is required") }
        let expected = Data(base64Encoded: signature)
        for candidate in urlVariants(url) {
            let computed = twilioSignature(authToken: authToken, url: candidate, parameters: parameters)
            if let expected, Data(base64Encoded: computed).map({ constantTimeEqual($0, expected) }) == true { return }
        }
        throw SignatureFailure("X-Twilio-Signature does not match")
    }

    public static func twilioSignature(authToken: String, url: String, parameters: [(String, String)]) -> String {
        var grouped: [String: Set<String>] = [:]
        for (name, value) in parameters { grouped[name, default: []].insert(value) }
        var text = url
        for name in grouped.keys.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }) {
            for value in grouped[name]!.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }) {
                text += name + value
            }
        }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(
            for: Data(text.utf8), using: SymmetricKey(data: Data(authToken.utf8)))
        return Data(mac).base64EncodedString()
    }

    static func urlVariants(_ url: String) -> [String] {
        guard var components = URLComponents(string: url), let scheme = components.scheme else { return [url] }
        let defaultPort = scheme == "https" ? 443 : 80
        var variants = [url]
        if components.port == defaultPort {
            components.port = nil
            variants.append(components.string ?? url)
        } else if components.port == nil {
            components.port = defaultPort
            variants.append(components.string ?? url)
        }
        return variants
    }

    static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

public struct SignatureFailure: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
