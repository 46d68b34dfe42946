import Contracts
import RouteTestSupport
import Testing

@testable import MessagingSendCore

/// Provider settings as the API shows them: the full webhook URLs to paste into SendGrid and
/// Twilio (built from the public URL), never a secret; 400s checked before any call to a provider.
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct ProviderRouteTests {
    func seedProviders(_ test: RouteTest) async throws {
        let store = ProviderStore(db: test.db, box: MessagingRouteTest.box, logger: TestPostgres.logger)
        try await store.save(
            spaceId: test.space.id, provider: .sendGrid,
            settings: SendGridSettings(fromAddress: "news@shop.example", baseUrl: SendGridSettings.defaultBaseURL),
            secrets: SendGridSecrets(apiKey: "SG.secret-key"))
        try await store.save(
            spaceId: test.space.id, provider: .twilio,
            settings: TwilioSettings(
                accountSid: "AC" + String(repeating: "1", count: 32),
                apiKeySid: "SK" + String(repeating: "2", count: 32),
                fromNumber: "+14155550000", baseUrl: TwilioSettings.defaultBaseURL),
            secrets: TwilioSecrets(apiKeySecret: "twilio-secret", authToken: "twilio-auth-token"))
    }

    @Test func settingsShowFullWebhookURLsAndNoSecrets() async throws {
        try await MessagingRouteTest.run { test in
            try await seedProviders(test)
            let space = test.space.id
            let url = MessagingRouteTest.publicURL
            let twilio = try await test.api(.get, "/spaces/\(space)/messaging/providers/twilio")
            #expect(twilio.status == .ok)
            #expect(twilio.data["statusCallbackUrl"] == .string("\(url)/webhooks/twilio/\(space)/status"))
            #expect(twilio.data["statusCallbackUrlPath"] == .string("/webhooks/twilio/\(space)/status"))
            #expect(twilio.data["inboundUrl"] == .string("\(url)/webhooks/twilio/\(space)/inbound"))
            #expect(twilio.data["apiKeySecretConfigured"] == true && twilio.data["authTokenConfigured"] == true)
            let sendGrid = try await test.api(.get, "/spaces/\(space)/messaging/providers/sendgrid")
            #expect(sendGrid.data["eventWebhookUrl"] == .string("\(url)/webhooks/sendgrid/\(space)"))
            #expect(sendGrid.data["settings"]?["fromAddress"] == "news@shop.example")
            let shown = "\(twilio.json)\(sendGrid.json)"
            for secret in ["SG.secret-key", "twilio-secret", "twilio-auth-token"] { #expect(!shown.contains(secret)) }
        }
    }

    @Test func providersNotSetUpAre404AndDeletionIsFinal() async throws {
        try await MessagingRouteTest.run { test in
            let base = "/spaces/\(test.space.id)/messaging/providers"
            for (provider, message) in [("sendgrid", "SendGrid is not set up"), ("twilio", "Twilio is not set up")] {
                let response = try await test.api(.get, "\(base)/\(provider)")
                #expect(
                    response.status == .notFound && response.errorCode == "not_found" && response.message == message)
            }
            try await seedProviders(test)
            #expect(try await test.api(.delete, "\(base)/twilio").status == .noContent)
            let again = try await test.api(.delete, "\(base)/twilio")
            #expect(again.status == .notFound && again.message == "twilio is not set up")
        }
    }

    @Test func missingCredentialsAndBadSettingsAre400BeforeAnyProviderCall() async throws {
        try await MessagingRouteTest.run { test in
            let base = "/spaces/\(test.space.id)/messaging/providers"
            let cases: [(String, JSONValue, String)] = [
                ("sendgrid", ["fromAddress": "a@b.example"], "apiKey is required"),
                ("sendgrid/verify", ["apiKey": "  "], "apiKey is required"),
                ("twilio", ["apiKeySid": "SK1", "apiKeySecret": "s"], "accountSid is required"),
                ("twilio", ["accountSid": "AC1", "apiKeySecret": "s"], "apiKeySid is required"),
                ("twilio/verify", ["accountSid": "AC1", "apiKeySid": "SK1"], "apiKeySecret is required"),
            ]
            for (path, body, message) in cases {
                let response = try await test.api(path.hasSuffix("verify") ? .post : .put, "\(base)/\(path)", body)
                #expect(response.status == .badRequest, "\(path)")
                #expect(response.errorCode == "invalid_request_error" && response.message == message, "\(path)")
            }
            let badURL = try await test.api(.put, "\(base)/sendgrid", ["apiKey": "SG.x", "baseUrl": "ftp://x"])
            #expect(badURL.status == .badRequest && badURL.message.hasPrefix("baseUrl must be an http(s) URL"))
            // The API key goes to baseUrl: only the hosts the operator allows, never an internal one.
            for url in [
                "http://169.254.169.254", "http://postgres:5432", "https://api.sendgrid.com.evil.example",
                "https://twilio.com.evil.example",
            ] {
                let refused = try await test.api(.put, "\(base)/sendgrid", ["apiKey": "SG.x", "baseUrl": .string(url)])
                #expect(
                    refused.status == .badRequest && refused.message.contains("is not one this installation sends to"))
            }
        }
    }

    @Test func theSendPolicyIsNullUntilSetAndEveryProblemIsListed() async throws {
        try await MessagingRouteTest.run { test in
            let path = "/spaces/\(test.space.id)/messaging/send-policy"
            let empty = try await test.api(.get, path)
            #expect(empty.status == .ok && empty.data == ["frequencyCap": nil, "quietHours": nil])
            let missing = try await test.api(.put, path, ["frequencyCap": [:], "quietHours": ["start": "22:00"]])
            #expect(missing.status == .unprocessableContent && missing.errorCode == "invalid_send_policy")
            #expect(
                missing.problems == [
                    "frequencyCap.messages is required", "frequencyCap.windowSeconds is required",
                    "quietHours.end is required",
                ])
        }
    }
}
