import Foundation

/// `engage.audience-membership`: one profile entering or leaving one audience. Key: profile id.
/// Published atomically with the membership table (outbox); `id` is stable across redelivery.
public struct AudienceMembershipEvent: Codable, Sendable, Hashable {
    public static let contract = "audience-membership/1"
    public static let entered = "Audience Entered"
    public static let exited = "Audience Exited"

    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// An event, a trait or a subscription change of the profile.
        case realtime
        /// A time window slid without a new event.
        case time
        /// The audience was created or its definition changed; computed over the stored history.
        case backfill
        /// The profile was merged into another; its membership moved to the survivor.
        case merged
        /// The audience was deleted.
        case deleted
    }

    public var schemaVersion: Int = 1
    public var id: String
    public var spaceId: String
    /// `Audience Entered` or `Audience Exited`.
    public var event: String
    public var audienceId: String
    public var audienceKey: String
    public var audienceName: String
    public var audienceVersion: Int
    public var profileId: String
    /// Set on the exit of a merged-away profile: where its membership went.
    public var mergedInto: String?
    public var userId: String?
    public var email: String?
    public var phone: String?
    public var anonymousIds: [String]
    /// The profile's traits at the moment (what a send or a destination needs).
    public var traits: [String: JSONValue]
    public var reason: Reason
    public var occurredAt: Date

    public init(
        spaceId: String, entered: Bool, audienceId: String, audienceKey: String, audienceName: String,
        audienceVersion: Int, profileId: String, mergedInto: String? = nil, userId: String?, email: String?,
        phone: String?,
        anonymousIds: [String], traits: [String: JSONValue], reason: Reason, occurredAt: Date, sequence: Int64
    ) {
        self.event = entered ? Self.entered : Self.exited
        // One entry or exit per membership change: the change's sequence in the history table.
        self.id = "\(spaceId):\(audienceId):\(profileId):\(sequence)"
        self.spaceId = spaceId
        self.audienceId = audienceId
        self.audienceKey = audienceKey
        self.audienceName = audienceName
        self.audienceVersion = audienceVersion
        self.profileId = profileId
        self.mergedInto = mergedInto
        self.userId = userId
        self.email = email
        self.phone = phone
        self.anonymousIds = anonymousIds
        self.traits = traits
        self.reason = reason
        self.occurredAt = occurredAt
    }
}
