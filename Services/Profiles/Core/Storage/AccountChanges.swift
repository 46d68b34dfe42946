import Contracts
import Foundation

/// What a batch's `group` calls change in Segment's accounts collection: the account of each group
/// id (per space, created when first seen), its traits (the newest timestamp wins, as for users),
/// and the link between the account and the user profile that made the call.
struct AccountChanges {
    struct Key: Hashable, Comparable {
        var spaceId: String
        var groupId: String

        static func < (lhs: Key, rhs: Key) -> Bool { (lhs.spaceId, lhs.groupId) < (rhs.spaceId, rhs.groupId) }
    }
    struct Account {
        var key: Key
        var firstMessageId: String, firstSourceId: String
        var lastMessageId: String, lastSourceId: String
    }
    struct Link { var key: Key, profileId: String, sourceId: String, messageId: String }
    struct TraitWrite {
        var key: Key, name: String, valueJSON: String
        var updatedAt: Date, sourceId: String, messageId: String
    }

    /// In key order, so that concurrent batches lock shared account rows in one order.
    private(set) var accounts: [Account] = []
    private(set) var links: [Link] = []
    private(set) var traitWrites: [TraitWrite] = []

    var isEmpty: Bool { accounts.isEmpty }

    /// The account a message belongs to: a group call's `groupId`, unless it is a blocked value
    /// (then, like a blocked identifier, it stays in the payload and names no account).
    static func groupId(of message: SegmentMessage) -> String? {
        guard message.type == .group, let groupId = message.groupId, !Identifier.isBlocked(groupId) else { return nil }
        return groupId
    }

    /// `calls`: the batch's messages in order, each with the canonical profile it resolved to.
    init(_ calls: [(incoming: IncomingMessage, profileId: String)]) {
        var accountsByKey: [Key: Account] = [:]
        var linked = Set<[String]>()
        var newestTrait: [[String]: TraitWrite] = [:]
        for (incoming, profileId) in calls {
            let message = incoming.message
            guard let groupId = Self.groupId(of: message) else { continue }
            let key = Key(spaceId: incoming.spaceId, groupId: groupId)
            if var account = accountsByKey[key] {
                account.lastMessageId = message.messageId
                account.lastSourceId = incoming.sourceId
                accountsByKey[key] = account
            } else {
                accountsByKey[key] = Account(
                    key: key, firstMessageId: message.messageId, firstSourceId: incoming.sourceId,
                    lastMessageId: message.messageId, lastSourceId: incoming.sourceId)
            }
            if linked.insert([key.spaceId, key.groupId, profileId]).inserted {
                links.append(
                    Link(
                        key: key, profileId: profileId, sourceId: incoming.sourceId,
                        messageId: message.messageId))
            }
            for (name, value) in message.traits ?? [:] {
                let write = TraitWrite(
                    key: key, name: name, valueJSON: value.json, updatedAt: message.timestamp,
                    sourceId: incoming.sourceId, messageId: message.messageId)
                let slot = [key.spaceId, key.groupId, name]
                if let existing = newestTrait[slot], existing.updatedAt > write.updatedAt { continue }
                newestTrait[slot] = write
            }
        }
        accounts = accountsByKey.values.sorted { $0.key < $1.key }
        links.sort { ($0.key, $0.profileId) < ($1.key, $1.profileId) }
        traitWrites = newestTrait.values.sorted { ($0.key, $0.name) < ($1.key, $1.name) }
    }
}
