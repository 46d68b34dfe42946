import Foundation

/// `engage.journey-events`: one step of one profile through a journey (or a broadcast). Key:
/// profile id. `id` is deterministic per step execution, so redelivery is harmless downstream.
/// The journeys service produces these; the events source publishes them and counts conversions.
public struct JourneyEvent: Codable, Sendable, Hashable {
    public static let contract = "journey-event/1"

    /// The event names, as downstream tools see them on the Engage Events Source.
    public enum Name {
        public static let entered = "Journey Entered"
        public static let stepEntered = "Journey Step Entered"
        public static let stepCompleted = "Journey Step Completed"
        public static let branchTaken = "Journey Branch Taken"
        public static let exited = "Journey Exited"
        /// The recipient of a message performed the send step's conversion goal within its window.
        public static let converted = "Journey Converted"
        public static let all: Set<String> = [entered, stepEntered, stepCompleted, branchTaken, exited, converted]
    }

    public var schemaVersion: Int = 1
    public var id: String
    public var spaceId: String
    public var event: String
    /// nil for a broadcast's events.
    public var journeyId: String?
    public var journeyName: String?
    public var journeyVersion: Int?
    public var broadcastId: String?
    /// One pass of one profile through the journey (a profile may pass several times).
    public var instanceId: String?
    public var stepId: String?
    public var stepName: String?
    public var stepType: String?
    /// The branch taken (`Journey Branch Taken`), e.g. `true`, `holdout`, a branch name.
    public var branch: String?
    public var profileId: String
    public var userId: String?
    public var email: String?
    public var phone: String?
    public var anonymousIds: [String]?
    /// `Journey Converted`: the message that converted, its channel and template.
    public var messageId: String?
    public var channel: SubscriptionChannel?
    public var templateId: String?
    /// `Journey Converted`: the goal's event name and the event that met it.
    public var goalEvent: String?
    public var conversionMessageId: String?
    /// Why the profile exited or a step was skipped.
    public var reason: String?
    public var occurredAt: Date

    public init(id: String, spaceId: String, event: String, profileId: String, occurredAt: Date) {
        self.id = id
        self.spaceId = spaceId
        self.event = event
        self.profileId = profileId
        self.occurredAt = occurredAt
    }
}
