import Contracts
import Foundation

/// One record of the topics the events source publishes from.
enum SourceInput: Sendable {
    case message(MessageEvent)
    case subscription(SubscriptionChange)
    case membership(AudienceMembershipEvent)
    case journey(JourneyEvent)

    static let topics = [Topic.messageEvents, Topic.subscriptionChanges, Topic.audienceMembership, Topic.journeyEvents]

    var spaceId: String {
        switch self {
        case .message(let event): event.spaceId
        case .subscription(let change): change.spaceId
        case .membership(let event): event.spaceId
        case .journey(let event): event.spaceId
        }
    }

    /// The input's kind, as in `SourceEvent.origin`.
    var origin: String {
        switch self {
        case .message: "message"
        case .subscription: "subscription"
        case .membership: "audience"
        case .journey: "journey"
        }
    }

    /// The producer's own id, stable across redelivery.
    var id: String {
        switch self {
        case .message(let event): event.id
        case .subscription(let change): change.id
        case .membership(let event): event.id
        case .journey(let event): event.id
        }
    }

    /// What redelivery is recognised by: unique across the input topics and spaces.
    var dedupeKey: String { "\(origin)|\(spaceId)|\(id)" }

    var profileId: String? {
        switch self {
        case .message(let event): event.profileId
        case .subscription: nil
        case .membership(let event): event.profileId
        case .journey(let event): event.profileId
        }
    }

    /// Parses a record of one of `topics`, or says precisely why it is not one.
    static func decode(topic: String, value: [UInt8]?) throws(InvalidMessage) -> SourceInput {
        let input: SourceInput
        switch topic {
        case Topic.messageEvents:
            let event = try InvalidMessage.decodeRecord(MessageEvent.self, contract: MessageEvent.contract, from: value)
            try require(["event": event.event])
            input = .message(event)
        case Topic.subscriptionChanges:
            let change = try InvalidMessage.decodeRecord(
                SubscriptionChange.self, contract: SubscriptionChange.contract, from: value)
            try require(["contact": change.contact])
            input = .subscription(change)
        case Topic.audienceMembership:
            let event = try InvalidMessage.decodeRecord(
                AudienceMembershipEvent.self, contract: AudienceMembershipEvent.contract, from: value)
            try require(["profileId": event.profileId, "audienceKey": event.audienceKey])
            input = .membership(event)
        case Topic.journeyEvents:
            let event = try InvalidMessage.decodeRecord(JourneyEvent.self, contract: JourneyEvent.contract, from: value)
            try require(["profileId": event.profileId, "event": event.event])
            input = .journey(event)
        default:
            throw InvalidMessage("unexpected topic \(topic)")
        }
        try require(["id": input.id, "spaceId": input.spaceId])
        return input
    }

    private static func require(_ fields: [String: String]) throws(InvalidMessage) {
        for (field, text) in fields.sorted(by: { $0.key < $1.key }) {
            guard !text.isEmpty else { throw InvalidMessage("\(field) is empty") }
            guard !text.utf8.contains(0) else { throw InvalidMessage("\(field) contains a NUL character") }
        }
    }
}
