import Contracts

/// The settings the platform's topics are created with (see docs/operations.md, "Topics").
public struct TopicSettings: Sendable {
    /// How long the tracking topic keeps events (internal systems may replay from it).
    public var trackingRetentionMs: Int64 = 7 * 86_400_000
    /// How long `engage.source-events` keeps events for the downstream tools that read it.
    public var sourceEventsRetentionMs: Int64 = 7 * 86_400_000
    /// How long dead letters are kept: long enough for someone to look at them.
    public var deadLetterRetentionMs: Int64 = 30 * 86_400_000

    public init() {}

    /// topic → setting → value, for `KafkaConfig.topicConfigs`.
    public var configs: [String: [String: String]] {
        var configs: [String: [String: String]] = [:]
        for topic in Topic.compacted { configs[topic] = ["cleanup.policy": "compact"] }
        for topic in Topic.keptForever { configs[topic] = ["cleanup.policy": "delete", "retention.ms": "-1"] }
        configs[Topic.tracking] = ["cleanup.policy": "delete", "retention.ms": String(trackingRetentionMs)]
        configs[Topic.sourceEvents] = ["cleanup.policy": "delete", "retention.ms": String(sourceEventsRetentionMs)]
        for topic in Topic.all {
            configs[Topic.deadLetter(of: topic)] = [
                "cleanup.policy": "delete", "retention.ms": String(deadLetterRetentionMs),
            ]
        }
        return configs
    }
}
