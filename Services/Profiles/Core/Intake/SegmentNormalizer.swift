import Contracts
import Foundation

/// Validates and normalises Segment-spec messages, the same way for the tracking API and the
/// tracking topic. Normalising an already normalised message changes nothing, so the topic consumer
/// can apply it to what the API produced.
public enum SegmentNormalizer {
    /// Segment's limits: 32 KB per event, 500 KB per batch, 2,500 events per batch, messageId < 100
    /// characters, fewer than 300 traits or properties, groupId up to 500 characters.
    public static let maxEventBytes = 32 * 1024
    public static let maxBatchBytes = 500 * 1024
    public static let maxBatchEvents = 2_500
    public static let maxMessageIdLength = 100
    public static let maxFields = 300
    public static let maxGroupIdLength = 500

    /// - Parameters:
    ///   - object: the message as sent.
    ///   - impliedType: the type the endpoint implies (`/v1/track`), nil for batch items and topic records.
    ///   - receivedAt: when the platform received it (kept if the message already has one).
    ///   - makeMessageId: a new id for messages without one.
    public static func normalize(
        _ object: [String: JSONValue], impliedType: SegmentMessageType?, receivedAt: Date,
        makeMessageId: () -> String = { UUID().uuidString.lowercased() }
    ) throws(InvalidMessage) -> SegmentMessage {
        let type: SegmentMessageType
        switch object["type"] {
        case .string(let text)?:
            guard let parsed = SegmentMessageType(rawValue: text.lowercased()) else {
                throw InvalidMessage("type \"\(text)\" is not one of identify, track, page, screen, group, alias")
            }
            if let impliedType, impliedType != parsed {
                throw InvalidMessage("type \"\(text)\" does not match the endpoint /v1/\(impliedType.rawValue)")
            }
            type = parsed
        case nil, .null?:
            guard let impliedType else { throw InvalidMessage("type is required") }
            type = impliedType
        default:
            throw InvalidMessage("type must be a string")
        }

        let userId = try identifier(object, "userId")
        let anonymousId = try identifier(object, "anonymousId")
        guard userId != nil || anonymousId != nil else {
            throw InvalidMessage("\(type.rawValue): userId or anonymousId is required")
        }

        var messageId = try string(object, "messageId") ?? makeMessageId()
        messageId = messageId.trimmingCharacters(in: .whitespaces)
        if messageId.isEmpty { messageId = makeMessageId() }
        guard messageId.count < maxMessageIdLength else {
            throw InvalidMessage("messageId must be shorter than \(maxMessageIdLength) characters")
        }

        let traits = try dictionary(object, "traits")
        let properties = try dictionary(object, "properties")
        let context = try dictionary(object, "context")
        let integrations = try dictionary(object, "integrations")
        if let traits, traits.count >= maxFields {
            throw InvalidMessage("traits has \(traits.count) keys; the limit is \(maxFields - 1)")
        }
        if let properties, properties.count >= maxFields {
            throw InvalidMessage("properties has \(properties.count) keys; the limit is \(maxFields - 1)")
        }

        var message = SegmentMessage(
            type: type, messageId: messageId, userId: userId, anonymousId: anonymousId,
            traits: traits, properties: properties, context: context, integrations: integrations,
            timestamp: receivedAt, receivedAt: receivedAt)
        switch type {
        case .track:
            guard let event = try string(object, "event"), !event.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw InvalidMessage("track: event is required and must be a non-empty string")
            }
            message.event = event
        case .page:
            message.name = try string(object, "name")
            message.category = try string(object, "category")
        case .screen:
            message.name = try string(object, "name")
        case .group:
            guard let groupId = try identifier(object, "groupId") else {
                throw InvalidMessage("group: groupId is required")
            }
            guard groupId.count <= maxGroupIdLength else {
                throw InvalidMessage("group: groupId is longer than \(maxGroupIdLength) characters")
            }
            message.groupId = groupId
        case .alias:
            guard let previousId = try identifier(object, "previousId") else {
                throw InvalidMessage("alias: previousId is required")
            }
            guard userId != nil else { throw InvalidMessage("alias: userId is required") }
            message.previousId = previousId
        case .identify:
            break
        }

        // Clock-skew correction: timestamp = receivedAt - (sentAt - client timestamp).
        let received = try date(object, "receivedAt") ?? receivedAt
        let sentAt = try date(object, "sentAt")
        let original = try date(object, "originalTimestamp")
        let sent = try date(object, "timestamp")
        let clientTimestamp = original ?? sent
        message.receivedAt = received
        message.sentAt = sentAt
        message.originalTimestamp = clientTimestamp
        if let clientTimestamp {
            if let sentAt {
                message.timestamp = received.addingTimeInterval(-sentAt.timeIntervalSince(clientTimestamp))
            } else {
                message.timestamp = clientTimestamp
            }
        } else {
            message.timestamp = received
        }
        // Every date read above is within years 0000-9999; a correction by an absurd skew can
        // leave them, and no reader downstream could parse the result.
        guard Self.writableDates.contains(message.timestamp) else {
            throw InvalidMessage("sentAt and timestamp are so far apart that the corrected timestamp is not a date")
        }
        return message
    }

    static let writableDates = Timestamp.parse("0001-01-01T00:00:00Z")!...Timestamp.parse("9999-12-31T23:59:59.999Z")!

    /// A userId/anonymousId/groupId: strings as sent, numbers as their decimal text, null as absent.
    static func identifier(_ object: [String: JSONValue], _ key: String) throws(InvalidMessage) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text.isEmpty ? nil : text
        case .number?, .largeInteger?: return object[key]?.identifierString
        default: throw InvalidMessage("\(key) must be a string or a number")
        }
    }

    static func string(_ object: [String: JSONValue], _ key: String) throws(InvalidMessage) -> String? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw InvalidMessage("\(key) must be a string")
        }
    }

    static func dictionary(_ object: [String: JSONValue], _ key: String) throws(InvalidMessage) -> [String: JSONValue]?
    {
        switch object[key] {
        case nil, .null?: return nil
        case .object(let value)?: return value
        default: throw InvalidMessage("\(key) must be a JSON object")
        }
    }

    static func date(_ object: [String: JSONValue], _ key: String) throws(InvalidMessage) -> Date? {
        switch object[key] {
        case nil, .null?: return nil
        case .string(let text)?:
            guard let date = Timestamp.parse(text) else {
                throw InvalidMessage("\(key) \"\(text)\" is not an ISO-8601 timestamp")
            }
            return date
        default: throw InvalidMessage("\(key) must be an ISO-8601 string")
        }
    }
}
