import Contracts
import Foundation
import Persistence

extension JourneyEvent {
    /// A journey event about one instance, with the profile's identity (as the replica knows it)
    /// so downstream tools can address the person without a lookup.
    static func about(
        _ name: String, scope: String, journey: JourneyRef, instanceId: String, profile: ProfileSnapshot, at: Date
    ) -> JourneyEvent {
        var event = JourneyEvent(
            id: ExecutionIds.event(name, scope: scope), spaceId: journey.spaceId, event: name,
            profileId: profile.profileId, occurredAt: at)
        event.journeyId = journey.journeyId
        event.journeyName = journey.name
        event.journeyVersion = journey.version
        event.instanceId = instanceId
        event.userId = profile.userId
        event.email = profile.email
        event.phone = profile.phone
        event.anonymousIds = profile.anonymousId.map { [$0] }
        return event
    }

    func outbox() throws -> OutboxMessage {
        try OutboxMessage(
            topic: Topic.journeyEvents, key: profileId, event: self, contract: JourneyEvent.contract,
            headers: [Header.spaceId: spaceId])
    }
}

extension MessageRequest {
    func outbox() throws -> OutboxMessage {
        try OutboxMessage(
            topic: Topic.messageRequests, key: profileId, event: self, contract: MessageRequest.contract,
            headers: [Header.spaceId: spaceId])
    }
}
