import Contracts
import Foundation
import Persistence

/// Everything a resolved batch writes, derived from the resolutions and the final identity graphs.
/// Rows name the canonical profile as of the end of the batch, so merges inside the batch need no
/// second pass over what was written.
struct ChangeSet {
    struct NewProfile {
        var id: String, spaceId: String, createdAt: Date
        var firstMessageId: String, firstSourceId: String, lastMessageId: String, lastSourceId: String
        var mergeCount: Int
    }
    struct Touched { var id: String, lastMessageId: String, lastSourceId: String, mergeCount: Int }
    struct NewIdentifier {
        var spaceId: String, type: String, value: String, profileId: String, sourceId: String, messageId: String
    }
    struct TraitWrite {
        var spaceId: String, profileId: String, key: String, value: JSONValue, valueJSON: String
        var updatedAt: Date, sourceId: String, messageId: String
    }
    struct TraitChange {
        var spaceId: String
        var messageId: String
        var at: Date
        var traits: [String: JSONValue] = [:]
    }
    struct EventRow {
        var spaceId: String, messageId: String, profileId: String, sourceId: String, type: String, event: String
        var occurredAt: Date, receivedAt: Date
        var message: SegmentMessage
        /// The profile-event's JSON and, within it, the message's (the event history's body):
        /// encoded once, once the profile's external ids are known.
        var payload = ""
        var body = ""
    }
    struct Conflict { var spaceId: String, messageId: String, profileId: String, dropped: [String] }
    struct IdentifiersAdded {
        var spaceId: String, profileId: String, messageId: String, at: Date, identifiers: [Identifier]
    }

    let now: Date
    var mergeLosers: [String] = [], mergeSurvivors: [String] = [], mergeSpaces: [String] = [],
        mergeMessageIds: [String] = []
    var newProfiles: [NewProfile] = []
    var touchedExisting: [Touched] = []
    var newIdentifiers: [NewIdentifier] = []
    var traitWrites: [TraitWrite] = []
    var events: [EventRow] = []
    var conflicts: [Conflict] = []
    var identifiersAdded: [IdentifiersAdded] = []
    /// Accounts, account traits and user-account links from the batch's group calls.
    var accounts = AccountChanges([])
    /// External ids of each canonical profile after the batch, for the profile-events.
    var externalIds: [String: [ExternalID]] = [:]

    init(resolved: [(IncomingMessage, IdentityGraph.Resolution)], graphs: [String: IdentityGraph], now: Date) throws {
        self.now = now
        func canonical(_ spaceId: String, _ id: String) -> String { graphs[spaceId]!.canonical(id) }

        // Merges: only losers that already existed need rows moved; those created in this batch
        // never reached the database.
        var mergeMessage: [String: String] = [:]
        for (incoming, resolution) in resolved {
            for loser in resolution.merged { mergeMessage[loser] = incoming.message.messageId }
        }
        for (spaceId, graph) in graphs.sorted(by: { $0.key < $1.key }) {
            for (loser, _) in graph.mergedInto.sorted(by: { $0.key < $1.key })
            where !graph.createdProfiles.contains(loser) {
                mergeLosers.append(loser)
                mergeSurvivors.append(graph.canonical(loser))
                mergeSpaces.append(spaceId)
                mergeMessageIds.append(mergeMessage[loser] ?? "")
            }
        }

        var firstLast: [String: (first: IncomingMessage, last: IncomingMessage)] = [:]
        var newestTrait: [String: TraitWrite] = [:]
        var traitOrder: [String] = []
        var calls: [(incoming: IncomingMessage, profileId: String)] = []
        for (incoming, resolution) in resolved {
            let spaceId = incoming.spaceId
            let message = incoming.message
            let profileId = canonical(spaceId, resolution.profileId)
            calls.append((incoming, profileId))
            if let entry = firstLast[profileId] {
                firstLast[profileId] = (entry.first, incoming)
            } else {
                firstLast[profileId] = (incoming, incoming)
            }
            for identifier in resolution.added {
                newIdentifiers.append(
                    NewIdentifier(
                        spaceId: spaceId, type: identifier.type, value: identifier.value, profileId: profileId,
                        sourceId: incoming.sourceId, messageId: message.messageId))
            }
            if !resolution.added.isEmpty {
                identifiersAdded.append(
                    IdentifiersAdded(
                        spaceId: spaceId, profileId: profileId, messageId: message.messageId,
                        at: message.timestamp, identifiers: resolution.added))
            }
            if !resolution.dropped.isEmpty {
                conflicts.append(
                    Conflict(
                        spaceId: spaceId, messageId: message.messageId, profileId: profileId,
                        dropped: resolution.dropped.map(\.description)))
            }
            if message.type == .identify {
                for (key, value) in message.effectiveTraits {
                    let slot = "\(profileId)|\(key)"
                    let write = TraitWrite(
                        spaceId: spaceId, profileId: profileId, key: key, value: value,
                        valueJSON: value.json,
                        updatedAt: message.timestamp, sourceId: incoming.sourceId, messageId: message.messageId)
                    if let existing = newestTrait[slot] {
                        if write.updatedAt >= existing.updatedAt { newestTrait[slot] = write }
                    } else {
                        newestTrait[slot] = write
                        traitOrder.append(slot)
                    }
                }
            }
            guard incoming.recordsEvent else { continue }
            events.append(
                EventRow(
                    spaceId: spaceId, messageId: message.messageId, profileId: profileId, sourceId: incoming.sourceId,
                    type: message.type.rawValue, event: message.event ?? "", occurredAt: message.timestamp,
                    receivedAt: message.receivedAt, message: message))
        }
        traitWrites = traitOrder.compactMap { newestTrait[$0] }
        accounts = AccountChanges(calls)

        for (profileId, entry) in firstLast {
            let spaceId = entry.first.spaceId
            let graph = graphs[spaceId]!
            let profile = graph.profiles[profileId]
            if graph.createdProfiles.contains(profileId) {
                newProfiles.append(
                    NewProfile(
                        id: profileId, spaceId: spaceId, createdAt: profile?.createdAt ?? now,
                        firstMessageId: entry.first.message.messageId, firstSourceId: entry.first.sourceId,
                        lastMessageId: entry.last.message.messageId, lastSourceId: entry.last.sourceId,
                        mergeCount: profile?.mergeCount ?? 0))
            } else {
                touchedExisting.append(
                    Touched(
                        id: profileId, lastMessageId: entry.last.message.messageId, lastSourceId: entry.last.sourceId,
                        mergeCount: profile?.mergeCount ?? 0))
            }
            let identifiers = profile?.identifiers.keys.sorted { ($0.type, $0.value) < ($1.type, $1.value) } ?? []
            externalIds[profileId] = identifiers.prefix(100).map(\.externalID)
        }
        newProfiles.sort { $0.id < $1.id }
        touchedExisting.sort { $0.id < $1.id }
        for index in events.indices {
            let row = events[index]
            let event = ProfileEvent(
                spaceId: row.spaceId, sourceId: row.sourceId, profileId: row.profileId,
                externalIds: externalIds[row.profileId] ?? [], message: row.message)
            let (json, message) = try WireEncoder.encode(event, capturingMember: "message", capacity: 1_536)
            events[index].payload = String(decoding: json, as: UTF8.self)
            events[index].body = String(decoding: json[message ?? json.indices], as: UTF8.self)
        }
    }

    /// profile-events (one per message) and profile-updates (merges, identifiers, traits).
    func outboxMessages(changedTraits: [String: TraitChange]) throws -> [OutboxMessage] {
        var messages: [OutboxMessage] = []
        for (index, loser) in mergeLosers.enumerated() {
            let update = ProfileUpdate(
                spaceId: mergeSpaces[index], profileId: mergeSurvivors[index], kind: .merged, occurredAt: now,
                causedByMessageId: mergeMessageIds[index], mergedProfileIds: [loser])
            messages.append(try update.outbox())
        }
        for added in identifiersAdded {
            let update = ProfileUpdate(
                spaceId: added.spaceId, profileId: added.profileId, kind: .identifiersAdded, occurredAt: added.at,
                causedByMessageId: added.messageId, identifiers: added.identifiers.map(\.externalID))
            messages.append(try update.outbox())
        }
        for (profileId, change) in changedTraits.sorted(by: { $0.key < $1.key }) {
            let update = ProfileUpdate(
                spaceId: change.spaceId, profileId: profileId, kind: .traitsChanged, occurredAt: change.at,
                causedByMessageId: change.messageId, traits: change.traits)
            messages.append(try update.outbox())
        }
        for row in events {
            messages.append(
                OutboxMessage(
                    topic: Topic.profileEvents, key: row.profileId, payload: row.payload,
                    headers: [Header.contract: ProfileEvent.contract, Header.spaceId: row.spaceId]))
        }
        return messages
    }
}

extension ProfileUpdate {
    func outbox() throws -> OutboxMessage {
        try OutboxMessage(
            topic: Topic.profileUpdates, key: profileId, event: self, contract: ProfileUpdate.contract,
            headers: [Header.spaceId: spaceId])
    }
}
