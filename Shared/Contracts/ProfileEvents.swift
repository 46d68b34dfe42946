import Foundation

/// An identifier of a profile, as Segment writes it in `context.externalIds`.
public struct ExternalID: Codable, Sendable, Hashable {
    public var type: String
    public var id: String
    public var collection: String
    public var encoding: String

    public init(type: String, id: String, collection: String = "users", encoding: String = "none") {
        self.type = type
        self.id = id
        self.collection = collection
        self.encoding = encoding
    }
}

/// `engage.profile-events`: one resolved Segment message, with the profile it resolved to.
/// `id` is `<spaceId>:<messageId>`, stable across redelivery: downstream consumers dedupe on it.
public struct ProfileEvent: Codable, Sendable, Hashable {
    public static let contract = "profile-event/1"
    public var schemaVersion: Int = 1
    public var id: String
    public var spaceId: String
    public var sourceId: String
    public var profileId: String
    public var occurredAt: Date
    /// The profile's identifiers at the time (email, phone, user_id... as external ids).
    public var externalIds: [ExternalID]
    public var message: SegmentMessage

    public init(
        spaceId: String, sourceId: String, profileId: String, externalIds: [ExternalID], message: SegmentMessage
    ) {
        self.id = "\(spaceId):\(message.messageId)"
        self.spaceId = spaceId
        self.sourceId = sourceId
        self.profileId = profileId
        self.occurredAt = message.timestamp
        self.externalIds = externalIds
        self.message = message
    }
}

/// `engage.profile-updates`: what changed on a profile. `id` is deterministic per change, so
/// redelivery can be deduplicated.
public struct ProfileUpdate: Codable, Sendable, Hashable {
    public static let contract = "profile-update/1"

    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Traits set to new values (only traits whose value really changed).
        case traitsChanged = "traits_changed"
        /// Identifiers newly attached to the profile.
        case identifiersAdded = "identifiers_added"
        /// Other profiles merged into this one; their ids are in `mergedProfileIds`.
        case merged
    }

    public var schemaVersion: Int = 1
    public var id: String
    public var spaceId: String
    public var profileId: String
    public var kind: Kind
    public var occurredAt: Date
    /// The message that caused the change.
    public var causedByMessageId: String?
    public var traits: [String: JSONValue]?
    public var identifiers: [ExternalID]?
    public var mergedProfileIds: [String]?

    public init(
        spaceId: String, profileId: String, kind: Kind, occurredAt: Date, causedByMessageId: String?,
        traits: [String: JSONValue]? = nil, identifiers: [ExternalID]? = nil, mergedProfileIds: [String]? = nil
    ) {
        self.id = "\(spaceId):\(causedByMessageId ?? "-"):\(profileId):\(kind.rawValue)"
        self.spaceId = spaceId
        self.profileId = profileId
        self.kind = kind
        self.occurredAt = occurredAt
        self.causedByMessageId = causedByMessageId
        self.traits = traits
        self.identifiers = identifiers
        self.mergedProfileIds = mergedProfileIds
    }
}

/// The body of a `<topic>.dlq` record: the original record and why it was refused.
public struct DeadLetter: Codable, Sendable, Hashable {
    public static let contract = "dead-letter/1"
    public var schemaVersion: Int = 1
    public var originalTopic: String
    public var partition: Int32
    public var offset: Int64
    public var key: String?
    /// The original value, as text when it was UTF-8, otherwise base64 in `valueBase64`.
    public var value: String?
    public var valueBase64: String?
    public var reason: String
    public var consumerGroup: String
    public var failedAt: Date
    /// Set when the original was too large to carry whole: `value` (or `valueBase64`) and `key`
    /// hold a prefix, and these give the original sizes in bytes.
    public var truncated: Bool?
    public var originalSize: Int?
    public var originalKeySize: Int?

    public init(
        originalTopic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        reason: String, consumerGroup: String, failedAt: Date
    ) {
        self.originalTopic = originalTopic
        self.partition = partition
        self.offset = offset
        self.key = key.map { String(decoding: $0, as: UTF8.self) }
        if let value {
            if let text = String(validating: value, as: UTF8.self) {
                self.value = text
            } else {
                self.valueBase64 = Data(value).base64EncodedString()
            }
        }
        self.reason = reason
        self.consumerGroup = consumerGroup
        self.failedAt = failedAt
    }
}
