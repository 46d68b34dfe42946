import Contracts
import Crypto
import Foundation

/// Engage's Messaging destination: an audience connected to send actions, each fired when a profile
/// enters (or leaves) the audience, with no journey in between. Consent is enforced as for every
/// marketing send; every outcome is a message event naming the destination and the action.
public struct MessagingDestination: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var audienceId: String
    public var enabled: Bool
    /// On connect (creation, or enabling a disabled destination): the audience's members at that
    /// moment get the entry actions too. Otherwise only entries after the connection count.
    public var sendToExistingMembers: Bool
    public var actions: [DestinationAction]
    public var connectedAt: Date
    public var createdAt: Date
    public var updatedAt: Date
}

/// One send action of a destination (Send SMS, Send WhatsApp, Send Email).
public struct DestinationAction: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case sendSMS = "send_sms"
        case sendWhatsApp = "send_whatsapp"
        case sendEmail = "send_email"

        var channel: SubscriptionChannel {
            switch self {
            case .sendSMS: .sms
            case .sendWhatsApp: .whatsapp
            case .sendEmail: .email
            }
        }
    }

    public enum Trigger: String, Codable, Sendable, CaseIterable {
        case audienceEntered = "audience_entered"
        case audienceExited = "audience_exited"
    }

    public var id: String
    public var name: String
    public var type: Kind
    public var trigger: Trigger
    public var enabled: Bool
    /// The sender, in place of the template's and the space's Twilio or SendGrid sender.
    public var from: String?
    /// Either a template (optionally pinned to a version) or the action's own content.
    public var templateId: String?
    public var templateVersion: Int?
    public var content: TemplateContent?
    public var purpose: MessagePurpose
    /// Email only: the subscription group the message belongs to.
    public var group: String?

    // The content's fields sit on the action itself, as the API takes them (`body`, `mediaUrls`,
    // `contentSid`...): what GET answers can be PUT back unchanged.
    enum CodingKeys: String, CodingKey {
        case id, name, type, trigger, enabled, from, templateId, templateVersion, purpose, group
    }

    public init(
        id: String, name: String, type: Kind, trigger: Trigger, enabled: Bool, from: String?, templateId: String?,
        templateVersion: Int?, content: TemplateContent?, purpose: MessagePurpose, group: String?
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.trigger = trigger
        self.enabled = enabled
        self.from = from
        self.templateId = templateId
        self.templateVersion = templateVersion
        self.content = content
        self.purpose = purpose
        self.group = group
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        type = try container.decode(Kind.self, forKey: .type)
        trigger = try container.decode(Trigger.self, forKey: .trigger)
        enabled = try container.decode(Bool.self, forKey: .enabled)
        from = try container.decodeIfPresent(String.self, forKey: .from)
        templateId = try container.decodeIfPresent(String.self, forKey: .templateId)
        templateVersion = try container.decodeIfPresent(Int.self, forKey: .templateVersion)
        purpose = try container.decode(MessagePurpose.self, forKey: .purpose)
        group = try container.decodeIfPresent(String.self, forKey: .group)
        var content = try TemplateContent(from: decoder)
        content.from = nil  // the action's own `from`
        self.content = content == TemplateContent() ? nil : content
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(type, forKey: .type)
        try container.encode(trigger, forKey: .trigger)
        try container.encode(enabled, forKey: .enabled)
        try container.encodeIfPresent(from, forKey: .from)
        try container.encodeIfPresent(templateId, forKey: .templateId)
        try container.encodeIfPresent(templateVersion, forKey: .templateVersion)
        try container.encode(purpose, forKey: .purpose)
        try container.encodeIfPresent(group, forKey: .group)
        try content?.encode(to: encoder)
    }

    /// The message an action makes for one membership entry (or exit): the same id however often
    /// the entry is seen (redelivery, restarts, "existing members" racing the entry event), so the
    /// message store's idempotency makes the send at most once per (action, entry).
    func messageId(forMembershipEvent eventId: String) -> String {
        let digest = SHA256.hash(data: Data("\(id)|\(eventId)".utf8))
        return "dst_" + digest.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    func message(spaceId: String, destinationId: String, profileId: String, membershipEventId: String, now: Date)
        -> NewMessage
    {
        let request = MessageRequest(
            id: messageId(forMembershipEvent: membershipEventId), spaceId: spaceId, profileId: profileId,
            channel: type.channel, templateId: templateId ?? "", templateVersion: templateVersion,
            purpose: purpose, group: group, from: from, occurredAt: now)
        return NewMessage(
            request: request, content: templateId == nil ? content : nil, destinationId: destinationId, actionId: id)
    }
}
