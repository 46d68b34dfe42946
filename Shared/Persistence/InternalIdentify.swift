import Contracts
import Foundation

extension OutboxMessage {
    /// An identify from a platform-internal source (`InternalSource`) through the profiles service's
    /// tracking intake, so the traits appear wherever traits do (Profile API, merge tags, audiences).
    /// nil for a profile known by neither a user id nor an anonymous id: the intake cannot address it.
    public static func internalIdentify(
        spaceId: String, source: String, messageId: String, userId: String?, anonymousId: String?,
        traits: [String: JSONValue], at timestamp: Date
    ) -> OutboxMessage? {
        guard let key = userId ?? anonymousId else { return nil }
        var writer = JSONWriter(capacity: 256)
        writer.object { members in
            members.member("type", "identify")
            members.member("messageId", messageId)
            members.member("userId", userId)
            if userId == nil { members.member("anonymousId", anonymousId) }
            members.member("traits", traits)
            members.member("timestamp", timestamp)
        }
        return OutboxMessage(
            topic: Topic.tracking, key: key, payload: writer.string,
            headers: [Header.sourceId: source, Header.spaceId: spaceId])
    }
}
