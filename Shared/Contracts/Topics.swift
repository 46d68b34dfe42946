/// Kafka topic names: the only coupling between services.
public enum Topic {
    /// Segment-spec messages in: from the tracking API and from internal systems. Key: userId or anonymousId.
    public static let tracking = "engage.tracking"
    /// Every resolved message with its canonical profile id. Key: profile id.
    public static let profileEvents = "engage.profile-events"
    /// Trait, identifier and merge changes of profiles. Key: profile id.
    public static let profileUpdates = "engage.profile-updates"
    /// Spaces and their access-token hashes (published by profiles). Key: space id.
    public static let spaces = "engage.spaces"
    /// Batches of subscription commands (CSV uploads, STOP replies, unsubscribe links...).
    public static let subscriptionCommands = "engage.subscription-commands"
    /// Outcomes of command batches that asked for one (CSV uploads). Key: correlation id.
    public static let subscriptionCommandResults = "engage.subscription-command-results"
    /// Every effective subscription change. Key: `spaceId|channel|contact`.
    public static let subscriptionChanges = "engage.subscription-changes"
    /// Email subscription groups (full records). Key: `spaceId|groupId`.
    public static let subscriptionGroups = "engage.subscription-groups"
    public static let audienceMembership = "engage.audience-membership"
    /// Audiences: which exist, their key, name and current version (published by audiences so that
    /// journeys, broadcasts and messaging destinations can check the audience they name). Key:
    /// `spaceId|audienceId`.
    public static let audiences = "engage.audiences"
    /// Message templates: which exist, their channel and current version (published by messaging-send
    /// so journeys and broadcasts can check what they will send). Key: `spaceId|templateId`.
    public static let templates = "engage.templates"
    public static let messageRequests = "engage.message-requests"
    public static let messageEvents = "engage.message-events"
    public static let journeyEvents = "engage.journey-events"
    public static let sourceEvents = "engage.source-events"

    public static let all = [
        tracking, spaces, profileEvents, profileUpdates, subscriptionCommands, subscriptionCommandResults,
        subscriptionChanges, subscriptionGroups,
        audienceMembership, audiences, templates, messageRequests, messageEvents, journeyEvents, sourceEvents,
    ]

    /// Topics whose records each carry the whole current state of their key (a space, a group, a
    /// template): compacted, so that they keep the latest record of every key for ever and a new
    /// instance rebuilds its replica from them.
    public static let compacted: Set<String> = [spaces, subscriptionGroups, audiences, templates]

    /// Topics kept whole for ever: every subscription change, since a contact's global state and
    /// each of its group states share one key (so compaction would keep only one of them).
    public static let keptForever: Set<String> = [subscriptionChanges]

    /// Every topic and its dead-letter topic: what services create at startup.
    public static var allWithDeadLetters: [String] { all + all.map(deadLetter(of:)) }

    /// Where a record that cannot be processed goes, with the reason in its headers and body.
    public static func deadLetter(of topic: String) -> String { "\(topic).dlq" }
}

/// Header names used on the platform's topics.
public enum Header {
    /// Tracking topic: the source the message came through (set by the tracking API; internal
    /// publishers may set it instead of `write-key`).
    public static let sourceId = "source-id"
    /// Tracking topic: a source's write key, for internal publishers.
    public static let writeKey = "write-key"
    public static let spaceId = "space-id"
    /// Every platform event: the contract type and its schema version, e.g. `profile-event/1`.
    public static let contract = "contract"
    /// Dead letters: why the record was refused, and where it came from.
    public static let dlqReason = "dlq-reason"
    public static let dlqTopic = "dlq-original-topic"
    public static let dlqPartition = "dlq-original-partition"
    public static let dlqOffset = "dlq-original-offset"
}

/// Sources inside the platform that publish onto `engage.tracking` without a write key: a record
/// carries the source id in `source-id` and its space in `space-id`.
public enum InternalSource {
    /// The audiences service writing computed trait values back onto profiles.
    public static let computedTraits = "engage-computed-traits"
    /// The journeys service's "set trait" steps.
    public static let journeys = "engage-journeys"
    public static let all: Set<String> = [computedTraits, journeys]
}
