import Contracts
import Foundation

/// A space's SendGrid account. The API key is a secret: sealed at rest, never returned.
public struct SendGridSettings: Codable, Sendable, Hashable {
    public static let defaultBaseURL = "https://api.sendgrid.com"
    /// The subuser the key belongs to (Engage's `twilio_engage_app_...`), for the record.
    public var subuser: String?
    public var fromAddress: String?
    public var fromName: String?
    /// `https://api.sendgrid.com`, `https://api.eu.sendgrid.com`, or a sandbox/fake.
    public var baseUrl: String
    /// Base64 DER public key of the Signed Event Webhook; unsigned or badly signed event batches
    /// are refused with 403.
    public var eventWebhookPublicKey: String?
    /// Without a key, event batches are refused unless this is true: an explicit, insecure opt-in
    /// (anyone who knows the space id, which every unsubscribe link shows, could post events).
    public var allowUnsignedEvents: Bool?
    /// SendGrid unsubscribe group (ASM) id -> subscription group name, for group (un)subscribe events.
    public var asmGroups: [String: String]?
    public var messagesPerSecond: Double?

    public static let defaultMessagesPerSecond = 1_000.0
}

public struct SendGridSecrets: Codable, Sendable {
    public var apiKey: String
}

/// A space's Twilio account, used with an API key (SID + secret) as Engage requires. The account's
/// auth token is optional and only used to check `X-Twilio-Signature` on callbacks (Twilio signs
/// with it; API key secrets cannot sign): without it, Twilio callbacks are refused.
public struct TwilioSettings: Codable, Sendable, Hashable {
    public static let defaultBaseURL = "https://api.twilio.com"
    public var accountSid: String
    public var apiKeySid: String
    public var messagingServiceSid: String?
    /// A long code (`+E164`) or a short code (5-6 digits).
    public var fromNumber: String?
    /// `whatsapp:+E164`.
    public var whatsappFrom: String?
    public var baseUrl: String
    /// The answer to HELP/INFO replies.
    public var helpText: String?
    /// Per sender; default by sender kind: long code 1/s, short code 100/s, messaging service 100/s.
    public var messagesPerSecond: Double?

    func sender(for channel: SubscriptionChannel) -> String? {
        switch channel {
        case .whatsapp: whatsappFrom ?? messagingServiceSid
        default: messagingServiceSid ?? fromNumber
        }
    }

    /// Carriers' throughput per sender kind, as Twilio documents it (roughly).
    static func defaultRate(sender: String) -> Double {
        if sender.hasPrefix("MG") { return 100 }
        if sender.allSatisfy(\.isNumber), sender.count <= 6 { return 100 }  // short code
        if sender.hasPrefix("whatsapp:") { return 80 }
        return 1  // long code
    }
}

public struct TwilioSecrets: Codable, Sendable {
    public var apiKeySecret: String
    public var authToken: String?
}

/// Checks of the provider settings that need no network call.
enum ProviderRules {
    static func checkBaseURL(_ text: String, field: String) throws(InvalidMessage) -> String {
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
            url.query == nil, url.fragment == nil
        else {
            throw InvalidMessage("\(field) must be an http(s) URL without query, e.g. https://api.twilio.com")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    static func check(_ settings: TwilioSettings) throws(InvalidMessage) {
        func matches(_ value: String?, _ pattern: String) -> Bool {
            value.map { $0.range(of: pattern, options: .regularExpression) != nil } ?? true
        }
        guard matches(settings.accountSid, "^AC[0-9a-fA-F]{32}$") else {
            throw InvalidMessage("accountSid must be AC followed by 32 hex digits")
        }
        guard matches(settings.apiKeySid, "^SK[0-9a-fA-F]{32}$") else {
            throw InvalidMessage(
                "apiKeySid must be an API key SID (SK followed by 32 hex digits): Engage uses API keys, not auth tokens"
            )
        }
        guard matches(settings.messagingServiceSid, "^MG[0-9a-fA-F]{32}$") else {
            throw InvalidMessage("messagingServiceSid must be MG followed by 32 hex digits")
        }
        guard matches(settings.fromNumber, "^(\\+[1-9][0-9]{6,14}|[0-9]{5,6})$") else {
            throw InvalidMessage("fromNumber must be an E.164 number (+14155550100) or a 5-6 digit short code")
        }
        guard matches(settings.whatsappFrom, "^whatsapp:\\+[1-9][0-9]{6,14}$") else {
            throw InvalidMessage("whatsappFrom must look like whatsapp:+14155550100")
        }
        guard settings.messagingServiceSid != nil || settings.fromNumber != nil || settings.whatsappFrom != nil else {
            throw InvalidMessage("a sender is required: messagingServiceSid, fromNumber or whatsappFrom")
        }
        if let rate = settings.messagesPerSecond, !(rate > 0 && rate <= 10_000) {
            throw InvalidMessage("messagesPerSecond must be in (0, 10000]")
        }
    }

    /// A sender named by a template, a message request or a destination action, in place of the
    /// space's: for email an address; for SMS a number, short code or Messaging Service SID; for
    /// WhatsApp a `whatsapp:` number or a Messaging Service SID.
    static func checkSender(_ sender: String, channel: SubscriptionChannel) throws(InvalidMessage) {
        func matches(_ pattern: String) -> Bool { sender.range(of: pattern, options: .regularExpression) != nil }
        switch channel {
        case .email:
            guard (try? ContactNormalizer.email(sender)) != nil else {
                throw InvalidMessage("from \(sender) is not an email address")
            }
        case .sms:
            guard matches("^(\\+[1-9][0-9]{6,14}|[0-9]{5,6}|MG[0-9a-fA-F]{32})$") else {
                throw InvalidMessage(
                    "from must be an E.164 number (+14155550100), a 5-6 digit short code or a Messaging Service SID (MG…)"
                )
            }
        case .whatsapp:
            guard matches("^(whatsapp:\\+[1-9][0-9]{6,14}|MG[0-9a-fA-F]{32})$") else {
                throw InvalidMessage("from must look like whatsapp:+14155550100 or be a Messaging Service SID (MG…)")
            }
        }
    }

    static func check(_ settings: SendGridSettings) throws(InvalidMessage) {
        if let from = settings.fromAddress, (try? ContactNormalizer.email(from)) == nil {
            throw InvalidMessage("fromAddress \(from) is not an email address")
        }
        if let key = settings.eventWebhookPublicKey, (try? SignatureChecks.sendGridPublicKey(key)) == nil {
            throw InvalidMessage(
                "eventWebhookPublicKey must be the base64 DER (SubjectPublicKeyInfo) P-256 key SendGrid shows")
        }
        for (id, _) in settings.asmGroups ?? [:] where Int(id) == nil {
            throw InvalidMessage("asmGroups keys are SendGrid group ids (integers); \(id) is not")
        }
        if let rate = settings.messagesPerSecond, !(rate > 0 && rate <= 10_000) {
            throw InvalidMessage("messagesPerSecond must be in (0, 10000]")
        }
    }
}
