import Foundation

/// The six Segment-spec call types.
public enum SegmentMessageType: String, Codable, Sendable, CaseIterable {
    case identify, track, page, screen, group, alias
}

/// A Segment-spec message after validation and normalisation: it has a messageId, a type, at least
/// one of userId/anonymousId, and server-side timestamps. Field names are Segment's, so the JSON on
/// the wire is what any Segment tool reads.
public struct SegmentMessage: Codable, Sendable, Hashable {
    public var type: SegmentMessageType
    public var messageId: String
    public var userId: String?
    public var anonymousId: String?
    /// track: the event name.
    public var event: String?
    /// page / screen: the page or screen name; page: its category.
    public var name: String?
    public var category: String?
    /// group: the group (account) id.
    public var groupId: String?
    /// alias: the id being joined to `userId`.
    public var previousId: String?
    public var traits: [String: JSONValue]?
    public var properties: [String: JSONValue]?
    public var context: [String: JSONValue]?
    public var integrations: [String: JSONValue]?
    /// When it happened, clock-skew corrected: `receivedAt - (sentAt - originalTimestamp)`.
    public var timestamp: Date
    /// The client's own `timestamp`, as sent.
    public var originalTimestamp: Date?
    public var sentAt: Date?
    /// When the platform received it.
    public var receivedAt: Date

    public init(
        type: SegmentMessageType, messageId: String, userId: String? = nil, anonymousId: String? = nil,
        event: String? = nil, name: String? = nil, category: String? = nil, groupId: String? = nil,
        previousId: String? = nil, traits: [String: JSONValue]? = nil, properties: [String: JSONValue]? = nil,
        context: [String: JSONValue]? = nil, integrations: [String: JSONValue]? = nil,
        timestamp: Date, originalTimestamp: Date? = nil, sentAt: Date? = nil, receivedAt: Date
    ) {
        self.type = type
        self.messageId = messageId
        self.userId = userId
        self.anonymousId = anonymousId
        self.event = event
        self.name = name
        self.category = category
        self.groupId = groupId
        self.previousId = previousId
        self.traits = traits
        self.properties = properties
        self.context = context
        self.integrations = integrations
        self.timestamp = timestamp
        self.originalTimestamp = originalTimestamp
        self.sentAt = sentAt
        self.receivedAt = receivedAt
    }

    /// The person's traits: identify's `traits` over `context.traits` (where Segment clients also put
    /// them). A group call's `traits` describe the account, so only its `context.traits` count here.
    public var effectiveTraits: [String: JSONValue] {
        var merged = context?["traits"]?.objectValue ?? [:]
        guard type != .group else { return merged }
        for (key, value) in traits ?? [:] { merged[key] = value }
        return merged
    }
}
