import Contracts
import Crypto
import Foundation
import Testing

@testable import MessagingSendCore

/// SendGrid event batches are refused unless signed with the space's key, or the space opted in.
@Suite struct SendGridEventAuthenticationTests {
    let body = Array(#"[{"email":"victim@example.com","event":"unsubscribe","timestamp":1795334400}]"#.utf8)
    let now = Date()

    func settings(publicKey: String? = nil, allowUnsignedEvents: Bool? = nil) -> SendGridSettings {
        SendGridSettings(
            baseUrl: SendGridSettings.defaultBaseURL, eventWebhookPublicKey: publicKey,
            allowUnsignedEvents: allowUnsignedEvents)
    }

    func signed(by key: P256.Signing.PrivateKey) throws -> (signature: String, timestamp: String) {
        let timestamp = String(Int(now.timeIntervalSince1970))
        return (
            try key.signature(for: Data(timestamp.utf8) + Data(body)).derRepresentation.base64EncodedString(), timestamp
        )
    }

    @Test func unsignedEventsAreRefusedByDefault() {
        do {
            try SendGridEventAuthentication.check(settings(), signature: nil, timestamp: nil, body: body, now: now)
            Issue.record("an unsigned batch without a key must be refused")
        } catch {
            #expect("\(error)".contains("eventWebhookPublicKey") && "\(error)".contains("allowUnsignedEvents"))
        }
        #expect(throws: SignatureFailure.self) {
            try SendGridEventAuthentication.check(
                settings(allowUnsignedEvents: false), signature: nil, timestamp: nil, body: body, now: now)
        }
    }

    @Test func unsignedEventsPassOnlyWithTheExplicitOptIn() throws {
        try SendGridEventAuthentication.check(
            settings(allowUnsignedEvents: true), signature: nil, timestamp: nil, body: body, now: now)
    }

    @Test func aConfiguredKeyWinsOverTheOptIn() throws {
        let key = P256.Signing.PrivateKey()
        let publicKey = key.publicKey.derRepresentation.base64EncodedString()
        let (signature, timestamp) = try signed(by: key)
        for optIn in [nil, true] {
            try SendGridEventAuthentication.check(
                settings(publicKey: publicKey, allowUnsignedEvents: optIn), signature: signature,
                timestamp: timestamp, body: body, now: now)
            #expect(throws: SignatureFailure.self) {
                try SendGridEventAuthentication.check(
                    settings(publicKey: publicKey, allowUnsignedEvents: optIn), signature: nil,
                    timestamp: nil, body: body, now: now)
            }
            let (otherSignature, _) = try signed(by: P256.Signing.PrivateKey())
            #expect(throws: SignatureFailure.self) {
                try SendGridEventAuthentication.check(
                    settings(publicKey: publicKey, allowUnsignedEvents: optIn), signature: otherSignature,
                    timestamp: timestamp, body: body, now: now)
            }
        }
    }

    @Test func theOptInIsStoredOnlyWhenSet() throws {
        let plain = try WireEncoder.string(settings())
        #expect(!plain.contains("allowUnsignedEvents"))
        let stored = try WireDecoder.decode(
            SendGridSettings.self, from: #"{"baseUrl":"https://api.sendgrid.com"}"#.utf8)
        #expect(stored.allowUnsignedEvents == nil)
    }
}
