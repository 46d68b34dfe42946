import Contracts
import Crypto
import Foundation
import Testing

@testable import MessagingSendCore

@Suite struct SignatureTests {
    @Test func twilioSignatureMatchesTwiliosTestVector() throws {
        let params = [
            ("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"), ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        #expect(
            SignatureChecks.twilioSignature(authToken: "12345", url: url, parameters: params)
                == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        try SignatureChecks.checkTwilio(
            authToken: "12345", signature: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url: url, parameters: params)
        // Twilio may sign with the explicit default port.
        try SignatureChecks.checkTwilio(
            authToken: "12345", signature: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
            url: "https://mycompany.com:443/myapp.php?foo=1&bar=2", parameters: params)
        #expect(throws: SignatureFailure.self) {
            try SignatureChecks.checkTwilio(
                authToken: "12345", signature: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url: url,
                parameters: params + [("Body", "STOP")])
        }
    }

    @Test func sendGridSignedEventWebhookTestVector() throws {
        let key =
            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
        let signature =
            "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
        // A wrong body fails whatever the timestamp; the replay window refuses an old timestamp first.
        #expect(throws: (any Error).self) {
            try SignatureChecks.checkSendGrid(
                publicKey: key, signature: signature, timestamp: "1600112502", body: Array("[]\r\n".utf8),
                now: Date(timeIntervalSince1970: 1_600_112_502))
        }
        #expect(throws: (any Error).self) {
            try SignatureChecks.checkSendGrid(
                publicKey: key, signature: signature, timestamp: "1600112502", body: [], now: Date())
        }
    }

    @Test func sendGridSignatureOverTimestampAndRawBody() throws {
        let key = P256.Signing.PrivateKey()
        let publicKey = key.publicKey.derRepresentation.base64EncodedString()
        let body = Array("[{\"event\":\"dropped\"}]\r\n".utf8)
        let now = Date()
        let timestamp = String(Int(now.timeIntervalSince1970))
        let signature = try key.signature(for: Data(timestamp.utf8) + Data(body)).derRepresentation
            .base64EncodedString()
        try SignatureChecks.checkSendGrid(
            publicKey: publicKey, signature: signature, timestamp: timestamp, body: body, now: now)
        // Re-serialised (CRLF dropped) or replayed an hour later: refused.
        #expect(throws: SignatureFailure.self) {
            try SignatureChecks.checkSendGrid(
                publicKey: publicKey, signature: signature, timestamp: timestamp, body: Array(body.dropLast(2)),
                now: now)
        }
        #expect(throws: SignatureFailure.self) {
            try SignatureChecks.checkSendGrid(
                publicKey: publicKey, signature: signature, timestamp: timestamp, body: body,
                now: now.addingTimeInterval(3_600))
        }
    }

    @Test func unsubscribeTokensRoundTripAndRefuseTampering() throws {
        let links = UnsubscribeLinks(
            box: try SecretBox(base64Key: Data(repeating: 7, count: 32).base64EncodedString()), publicURL: "https://e.x"
        )
        let target = UnsubscribeTarget(
            spaceId: "spc_1", channel: .email, contact: "ada@example.com", group: "News", messageId: "m1",
            profileId: "p1")
        let token = links.token(for: target)
        #expect(links.target(from: token) == target)
        var tampered = Array(token)
        tampered[3] = tampered[3] == "A" ? "B" : "A"
        #expect(links.target(from: String(tampered)) == nil)
        let other = UnsubscribeLinks(
            box: try SecretBox(base64Key: Data(repeating: 8, count: 32).base64EncodedString()), publicURL: "https://e.x"
        )
        #expect(other.target(from: token) == nil)
    }

    @Test func secretsAreBoundToTheirRow() throws {
        let box = try SecretBox(base64Key: Data(repeating: 1, count: 32).base64EncodedString())
        let sealed = try box.seal(Data("SG.secret".utf8), context: "spc_1|sendgrid")
        #expect(try box.open(sealed, context: "spc_1|sendgrid") == Data("SG.secret".utf8))
        #expect(throws: (any Error).self) { try box.open(sealed, context: "spc_2|sendgrid") }
        #expect(throws: SecretBox.InvalidKey.self) { try SecretBox(base64Key: "short") }
    }

    @Test func replyKeywordsPreferOptOutType() {
        #expect(ReplyKeyword.of(body: " Stop ", optOutType: nil) == .optOut)
        #expect(ReplyKeyword.of(body: "stopall", optOutType: nil) == .optOut)
        #expect(ReplyKeyword.of(body: "please stop texting me", optOutType: nil) == nil)
        #expect(ReplyKeyword.of(body: "arret", optOutType: "STOP") == .optOut)
        #expect(ReplyKeyword.of(body: "unstop", optOutType: nil) == .optIn)
        #expect(ReplyKeyword.of(body: "info", optOutType: nil) == .help)
    }
}
