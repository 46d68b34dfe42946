import Contracts
import Crypto
import Foundation

/// One event of the Engage Events Source: a Segment-spec `track` call, as downstream tools read it
/// on `engage.source-events` and in webhook deliveries.
public struct SourceEvent: Sendable, Hashable {
    public static let contract = "source-event/1"

    public var spaceId: String
    /// The Engage event name, e.g. `Email Delivered`, `Channel Subscription Updated`.
    public var event: String
    /// Deterministic: the same input always gives the same id, so downstream tools dedupe on it.
    public var messageId: String
    /// The person's ids, as far as known when the event is published; nil until then.
    public var userId: String?
    public var anonymousId: String?
    /// The Engage profile, when known.
    public var profileId: String?
    public var email: String?
    public var phone: String?
    public var properties: [String: JSONValue]
    /// Extra `context.traits` (an audience event carries the profile's traits).
    public var traits: [String: JSONValue]
    /// Which platform topic the event came from: `message`, `subscription`, `audience`, `journey`.
    public var origin: String
    public var timestamp: Date
    public var receivedAt: Date

    /// Kafka key and webhook ordering lane: the profile, else the contact.
    public var key: String { profileId ?? email ?? phone ?? messageId }

    /// A stable id from what the input is: `engage-` + 32 hex digits of SHA-256.
    public static func messageId(spaceId: String, origin: String, inputId: String) -> String {
        let digest = SHA256.hash(data: Data("\(spaceId)|\(origin)|\(inputId)".utf8))
        return "engage-" + digest.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// The Segment `track` JSON.
    public var json: String {
        var writer = JSONWriter(capacity: 900)
        writer.object { members in
            members.member("type", "track")
            members.member("event", event)
            members.member("messageId", messageId)
            members.member("userId", userId)
            // Segment asks for userId or anonymousId: the profile id stands in when the profile has
            // neither. A contact never does (it would become an identity of its own downstream): an
            // event about a contact with no known profile names it in `context.externalIds` alone.
            members.member("anonymousId", anonymousId ?? (userId == nil ? profileId : nil))
            members.member("properties", properties)
            members.member("context", context)
            members.member("timestamp", timestamp)
            members.member("receivedAt", receivedAt)
        }
        return writer.string
    }

    var context: [String: JSONValue] {
        var externalIds: [JSONValue] = []
        func add(_ type: String, _ id: String?) {
            guard let id else { return }
            externalIds.append(["id": .string(id), "type": .string(type), "collection": "users", "encoding": "none"])
        }
        add("user_id", userId)
        add("email", email)
        add("phone", phone)
        add("anonymous_id", anonymousId)
        var traits = self.traits
        if let email { traits["email"] = .string(email) }
        if let phone { traits["phone"] = .string(phone) }
        var engage: [String: JSONValue] = ["space_id": .string(spaceId), "origin": .string(origin)]
        if let profileId { engage["profile_id"] = .string(profileId) }
        return [
            "library": ["name": "swift-engage", "version": "1"],
            "externalIds": .array(externalIds),
            "traits": .object(traits),
            "engage": .object(engage),
        ]
    }
}
