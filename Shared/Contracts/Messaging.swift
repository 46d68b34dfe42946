import Foundation

/// Whether a message needs the recipient's consent. Marketing goes only to `subscribed` contacts;
/// transactional messages (receipts, password resets) go to any known address.
public enum MessagePurpose: String, Codable, Sendable, CaseIterable {
    case marketing
    case transactional
}

/// `engage.message-requests`: "send this template to this profile". Key: profile id.
/// `id` is the idempotency key: however often a request is delivered, the messaging service makes
/// at most one provider call for it, and the message it creates has the same id.
public struct MessageRequest: Codable, Sendable, Hashable {
    public static let contract = "message-request/1"
    public var schemaVersion: Int = 1
    public var id: String
    public var spaceId: String
    public var profileId: String
    public var channel: SubscriptionChannel
    public var templateId: String
    /// nil: the template's current version when the request is processed.
    public var templateVersion: Int?
    public var purpose: MessagePurpose
    /// For marketing email: the subscription group the message belongs to (it must be subscribed too).
    public var group: String?
    /// The sender, in place of the template's and the space's: an email address, or for SMS and
    /// WhatsApp a number, short code, `whatsapp:` number or Messaging Service SID.
    public var from: String?
    public var journeyId: String?
    public var journeyStepId: String?
    public var broadcastId: String?
    /// A test send from the template editor: marked as such on every event.
    public var test: Bool
    public var occurredAt: Date

    public init(
        id: String, spaceId: String, profileId: String, channel: SubscriptionChannel, templateId: String,
        templateVersion: Int? = nil, purpose: MessagePurpose, group: String? = nil, from: String? = nil,
        journeyId: String? = nil, journeyStepId: String? = nil, broadcastId: String? = nil, test: Bool = false,
        occurredAt: Date
    ) {
        self.id = id
        self.spaceId = spaceId
        self.profileId = profileId
        self.channel = channel
        self.templateId = templateId
        self.templateVersion = templateVersion
        self.purpose = purpose
        self.group = group
        self.from = from
        self.journeyId = journeyId
        self.journeyStepId = journeyStepId
        self.broadcastId = broadcastId
        self.test = test
        self.occurredAt = occurredAt
    }
}

/// `engage.templates`: a template was created, got a new version, or was deleted. Carries no content
/// (that stays with messaging-send); enough for other services to check what they will send.
public struct TemplateChange: Codable, Sendable, Hashable {
    public static let contract = "template-change/1"
    public var schemaVersion: Int = 1
    public var id: String
    public var spaceId: String
    public var templateId: String
    public var name: String
    public var channel: SubscriptionChannel
    public var purpose: MessagePurpose
    /// Versions 1...currentVersion exist.
    public var currentVersion: Int
    public var deleted: Bool
    public var occurredAt: Date

    public init(
        spaceId: String, templateId: String, name: String, channel: SubscriptionChannel, purpose: MessagePurpose,
        currentVersion: Int, deleted: Bool, occurredAt: Date
    ) {
        self.id = "\(spaceId):\(templateId):\(currentVersion)\(deleted ? ":deleted" : "")"
        self.spaceId = spaceId
        self.templateId = templateId
        self.name = name
        self.channel = channel
        self.purpose = purpose
        self.currentVersion = currentVersion
        self.deleted = deleted
        self.occurredAt = occurredAt
    }

    public var key: String { "\(spaceId)|\(templateId)" }
}

/// `engage.message-events`: one thing that happened to one message (or one inbound message), named
/// as Engage names it (`Email Delivered`, `SMS Undelivered`, `WhatsApp Message Read`...). Key: profile
/// id (the contact for inbound messages of unknown people). `id` is deterministic per provider event,
/// so a redelivered webhook or a re-published outbox row can be deduplicated downstream. Every key
/// is written, absent values as null: downstream tools in any language read every key.
public struct MessageEvent: Codable, Sendable, Hashable, EncodesAbsentAsNull {
    public static let contract = "message-event/1"
    public var schemaVersion: Int = 1
    public var id: String
    public var spaceId: String
    /// The Engage event name.
    public var event: String
    public var channel: SubscriptionChannel
    /// nil for an inbound message that answers no message of ours.
    public var messageId: String?
    public var profileId: String?
    /// The recipient (or, inbound, the sender): an email address, `+E164`, or `whatsapp:+E164`.
    public var contact: String?
    public var templateId: String?
    public var templateVersion: Int?
    public var purpose: MessagePurpose?
    public var journeyId: String?
    public var journeyStepId: String?
    public var broadcastId: String?
    /// A message sent by a messaging destination's action (an audience entry or exit).
    public var destinationId: String?
    public var actionId: String?
    public var test: Bool
    public var provider: String?
    public var providerMessageId: String?
    /// Why a message was skipped or failed, e.g. `not_subscribed`, or the provider's error code.
    public var reason: String?
    public var errorCode: String?
    public var errorMessage: String?
    /// The clicked link of `Email Link Clicked`; the body of an inbound message.
    public var url: String?
    public var body: String?
    /// The email subscription group (its name) an `Email Group ...` event is about.
    public var group: String?
    public var occurredAt: Date
    public var recordedAt: Date

    public init(
        id: String, spaceId: String, event: String, channel: SubscriptionChannel, messageId: String?,
        profileId: String?,
        contact: String?, occurredAt: Date, recordedAt: Date
    ) {
        self.id = id
        self.spaceId = spaceId
        self.event = event
        self.channel = channel
        self.messageId = messageId
        self.profileId = profileId
        self.contact = contact
        self.test = false
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
    }

    public var key: String { profileId ?? contact ?? messageId ?? id }
}
