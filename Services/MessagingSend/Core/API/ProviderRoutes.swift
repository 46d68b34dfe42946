import Contracts
import Foundation
import Hummingbird
import ServiceKit

/// Checks credentials against the provider before they are saved.
public struct ProviderVerifier: Sendable {
    let sendGrid: SendGridClient
    let twilio: TwilioClient
    /// The hosts a space's `baseUrl` may name (`ENGAGE_MESSAGING_PROVIDER_HOSTS`): the API key goes
    /// there, so a space token must not be able to point it at an internal address.
    let allowedHosts: Set<String>

    /// SendGrid's global and EU APIs, and Twilio's (its regional edges are `api.<edge>.<region>.twilio.com`).
    /// An entry `*.example.com` allows every host under example.com.
    public static let defaultAllowedHosts: Set<String> = ["api.sendgrid.com", "api.eu.sendgrid.com", "*.twilio.com"]

    func allows(_ host: String) -> Bool {
        allowedHosts.contains(host)
            || allowedHosts.contains { $0.hasPrefix("*.") && host.hasSuffix($0.dropFirst()) }
    }

    init(sendGrid: SendGridClient, twilio: TwilioClient, allowedHosts: Set<String> = defaultAllowedHosts) {
        self.sendGrid = sendGrid
        self.twilio = twilio
        self.allowedHosts = allowedHosts
    }

    func baseURL(_ text: String?, default defaultURL: String) throws(InvalidMessage) -> String {
        let checked = try ProviderRules.checkBaseURL(text ?? defaultURL, field: "baseUrl")
        let host = URL(string: checked)?.host?.lowercased() ?? ""
        guard allows(host) else {
            throw InvalidMessage(
                "baseUrl host \(host) is not one this installation sends to (ENGAGE_MESSAGING_PROVIDER_HOSTS: "
                    + allowedHosts.sorted().joined(separator: ", ") + ")")
        }
        return checked
    }

    func verify(_ settings: SendGridSettings, _ secrets: SendGridSecrets) async throws {
        if case .failure(let failure) = await sendGrid.verify(settings: settings, secrets: secrets) {
            throw APIError(.unprocessableContent, code: "provider_verification_failed", message: failure.message)
        }
    }

    func verify(_ settings: TwilioSettings, _ secrets: TwilioSecrets) async throws {
        if case .failure(let failure) = await twilio.verify(settings: settings, secrets: secrets) {
            throw APIError(.unprocessableContent, code: "provider_verification_failed", message: failure.message)
        }
    }
}

/// `/spaces/{id}/messaging/providers/{sendgrid|twilio}`: PUT (verify, then save), GET (settings,
/// never secrets), DELETE, and POST `.../verify` (check only). A PUT without a secret keeps the
/// stored one.
struct ProviderRoutes: Sendable {
    let auth: SpaceTokenAuth
    let providers: ProviderStore
    let verifier: ProviderVerifier
    /// Where providers reach this service (`ENGAGE_MESSAGING_PUBLIC_URL`): the webhook URLs shown
    /// to paste into SendGrid and Twilio.
    let publicURL: String

    struct SendGridBody: Decodable {
        var apiKey: String?
        var subuser: String?
        var fromAddress: String?
        var fromName: String?
        var baseUrl: String?
        var eventWebhookPublicKey: String?
        var allowUnsignedEvents: Bool?
        var asmGroups: [String: String]?
        var messagesPerSecond: Double?
    }

    struct TwilioBody: Decodable {
        var accountSid: String?
        var apiKeySid: String?
        var apiKeySecret: String?
        var authToken: String?
        var messagingServiceSid: String?
        var fromNumber: String?
        var whatsappFrom: String?
        var baseUrl: String?
        var helpText: String?
        var messagesPerSecond: Double?
    }

    struct SendGridView: Encodable {
        var settings: SendGridSettings
        var apiKeyConfigured: Bool
        /// The Event Webhook's "HTTP Post URL" in SendGrid (Settings > Mail Settings > Event Webhook).
        var eventWebhookUrl: String
        var eventWebhookUrlPath: String
    }

    struct TwilioView: Encodable {
        var settings: TwilioSettings
        var apiKeySecretConfigured: Bool
        var authTokenConfigured: Bool
        /// Set on every message sent; also the Messaging Service's "Delivery Status Callback".
        var statusCallbackUrl: String
        var statusCallbackUrlPath: String
        /// The Messaging Service's (or number's) "A message comes in" webhook, for STOP/START/HELP replies.
        var inboundUrl: String
        var inboundUrlPath: String
    }

    struct Verified: Encodable { var verified = true }

    func register<Context: RequestContext>(on space: RouterGroup<Context>) {
        space.put("/messaging/providers/sendgrid") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let (settings, secrets) = try await sendGrid(spaceId: spaceId, request: request)
            try await verifier.verify(settings, secrets)
            try await providers.save(spaceId: spaceId, provider: .sendGrid, settings: settings, secrets: secrets)
            return try JSONBody.response(DataEnvelope(data: view(spaceId: spaceId, settings)))
        }
        space.post("/messaging/providers/sendgrid/verify") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let (settings, secrets) = try await sendGrid(spaceId: spaceId, request: request)
            try await verifier.verify(settings, secrets)
            return try JSONBody.response(DataEnvelope(data: Verified()))
        }
        space.get("/messaging/providers/sendgrid") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            guard let current = try await providers.providers(spaceId: spaceId).sendGrid else {
                throw APIError.notFound("SendGrid is not set up")
            }
            return try JSONBody.response(DataEnvelope(data: view(spaceId: spaceId, current.settings)))
        }
        space.put("/messaging/providers/twilio") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let (settings, secrets) = try await twilio(spaceId: spaceId, request: request)
            try await verifier.verify(settings, secrets)
            try await providers.save(spaceId: spaceId, provider: .twilio, settings: settings, secrets: secrets)
            return try JSONBody.response(DataEnvelope(data: view(spaceId: spaceId, settings, secrets)))
        }
        space.post("/messaging/providers/twilio/verify") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let (settings, secrets) = try await twilio(spaceId: spaceId, request: request)
            try await verifier.verify(settings, secrets)
            return try JSONBody.response(DataEnvelope(data: Verified()))
        }
        space.get("/messaging/providers/twilio") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            guard let current = try await providers.providers(spaceId: spaceId).twilio else {
                throw APIError.notFound("Twilio is not set up")
            }
            return try JSONBody.response(DataEnvelope(data: view(spaceId: spaceId, current.settings, current.secrets)))
        }
        for provider in ProviderStore.Provider.allCases {
            space.delete("/messaging/providers/\(provider.rawValue)") { request, context in
                let spaceId = try await auth.authorizedSpace(request, context)
                guard try await providers.delete(spaceId: spaceId, provider: provider) else {
                    throw APIError.notFound("\(provider.rawValue) is not set up")
                }
                return Response(status: .noContent)
            }
        }
    }

    func view(spaceId: String, _ settings: SendGridSettings) -> SendGridView {
        let path = "/webhooks/sendgrid/\(spaceId)"
        return SendGridView(
            settings: settings, apiKeyConfigured: true, eventWebhookUrl: publicURL + path, eventWebhookUrlPath: path)
    }

    func view(spaceId: String, _ settings: TwilioSettings, _ secrets: TwilioSecrets) -> TwilioView {
        let status = "/webhooks/twilio/\(spaceId)/status"
        let inbound = "/webhooks/twilio/\(spaceId)/inbound"
        return TwilioView(
            settings: settings, apiKeySecretConfigured: true, authTokenConfigured: secrets.authToken != nil,
            statusCallbackUrl: publicURL + status, statusCallbackUrlPath: status, inboundUrl: publicURL + inbound,
            inboundUrlPath: inbound)
    }

    private static func trimmed(_ text: String?) -> String? {
        // Keys pasted with a trailing space are the most common verification failure.
        text.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    func sendGrid(spaceId: String, request: Request) async throws -> (SendGridSettings, SendGridSecrets) {
        let body = try await JSONBody.decode(SendGridBody.self, from: request)
        let stored = try await providers.providers(spaceId: spaceId).sendGrid
        guard let apiKey = Self.trimmed(body.apiKey) ?? stored?.secrets.apiKey else {
            throw APIError.badRequest("apiKey is required")
        }
        do {
            let settings = SendGridSettings(
                subuser: Self.trimmed(body.subuser), fromAddress: Self.trimmed(body.fromAddress),
                fromName: body.fromName,
                baseUrl: try verifier.baseURL(Self.trimmed(body.baseUrl), default: SendGridSettings.defaultBaseURL),
                eventWebhookPublicKey: Self.trimmed(body.eventWebhookPublicKey),
                allowUnsignedEvents: body.allowUnsignedEvents == true ? true : nil, asmGroups: body.asmGroups,
                messagesPerSecond: body.messagesPerSecond)
            try ProviderRules.check(settings)
            return (settings, SendGridSecrets(apiKey: apiKey))
        } catch {
            throw APIError.badRequest(error.reason)
        }
    }

    func twilio(spaceId: String, request: Request) async throws -> (TwilioSettings, TwilioSecrets) {
        let body = try await JSONBody.decode(TwilioBody.self, from: request)
        let stored = try await providers.providers(spaceId: spaceId).twilio
        guard let accountSid = Self.trimmed(body.accountSid) else {
            throw APIError.badRequest("accountSid is required")
        }
        guard let apiKeySid = Self.trimmed(body.apiKeySid) else { throw APIError.badRequest("apiKeySid is required") }
        guard let secret = Self.trimmed(body.apiKeySecret) ?? stored?.secrets.apiKeySecret else {
            throw APIError.badRequest("apiKeySecret is required")
        }
        do {
            let settings = TwilioSettings(
                accountSid: accountSid, apiKeySid: apiKeySid,
                messagingServiceSid: Self.trimmed(body.messagingServiceSid),
                fromNumber: Self.trimmed(body.fromNumber), whatsappFrom: Self.trimmed(body.whatsappFrom),
                baseUrl: try verifier.baseURL(Self.trimmed(body.baseUrl), default: TwilioSettings.defaultBaseURL),
                helpText: body.helpText, messagesPerSecond: body.messagesPerSecond)
            try ProviderRules.check(settings)
            return (
                settings,
                TwilioSecrets(
                    apiKeySecret: secret, authToken: Self.trimmed(body.authToken) ?? stored?.secrets.authToken)
            )
        } catch {
            throw APIError.badRequest(error.reason)
        }
    }
}
