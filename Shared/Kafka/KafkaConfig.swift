/// Connection settings shared by producers and consumers. `properties` are passed to librdkafka as is,
/// so anything it supports (security.protocol, sasl.*, ...) can be set without code changes.
public struct KafkaConfig: Sendable {
    public var brokers: String
    public var clientId: String
    /// Partitions for topics this service creates at startup.
    public var topicPartitions: Int32
    public var replicationFactor: Int32
    /// Consumer-group timings. The defaults suit a local broker; production may raise them.
    public var sessionTimeoutMs: Int
    public var maxPollIntervalMs: Int
    public var heartbeatIntervalMs: Int
    public var properties: [String: String]
    /// Settings of the topics this service creates (topic → setting → value), e.g. compaction for
    /// the replica topics. Set at creation; existing topics whose settings differ are reported.
    public var topicConfigs: [String: [String: String]] = [:]

    public init(
        brokers: String, clientId: String, topicPartitions: Int32 = 3, replicationFactor: Int32 = 1,
        sessionTimeoutMs: Int = 6_000, maxPollIntervalMs: Int = 30_000, heartbeatIntervalMs: Int = 1_000,
        properties: [String: String] = [:]
    ) {
        self.brokers = brokers
        self.clientId = clientId
        self.topicPartitions = topicPartitions
        self.replicationFactor = replicationFactor
        self.sessionTimeoutMs = sessionTimeoutMs
        self.maxPollIntervalMs = maxPollIntervalMs
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.properties = properties
    }

    /// Every handle refreshes its topics' metadata this often, so that all of them have seen a
    /// topic disappear before a producer creates it again (see `KafkaProducer.topicRecreationDelay`).
    var metadataRefreshMs: String { "2000" }

    var producerProperties: [String: String] {
        var settings = [
            "bootstrap.servers": brokers,
            "client.id": clientId,
            // Idempotent, acks=all: a send returns only once every in-sync replica has the record,
            // and retries never duplicate or reorder.
            "enable.idempotence": "true",
            "acks": "all",
            "linger.ms": "2",
            "queue.buffering.max.messages": "500000",
            // A record not acknowledged in time fails its send (the relay retries it); long enough for
            // a broker failover, short enough that a wedged handle is replaced soon (see KafkaProducer).
            "message.timeout.ms": "15000",
            // Topics are created by the producer with the configured partitions (see
            // KafkaProducer), never implicitly by the broker with its own defaults.
            "allow.auto.create.topics": "false",
            "topic.metadata.refresh.interval.ms": metadataRefreshMs,
        ]
        for (key, value) in properties { settings[key] = value }
        return settings
    }

    func consumerProperties(groupId: String) -> [String: String] {
        var settings = [
            "bootstrap.servers": brokers,
            "client.id": clientId,
            "group.id": groupId,
            // Offsets are committed explicitly, after the effects of a batch are durable.
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": String(sessionTimeoutMs),
            "max.poll.interval.ms": String(maxPollIntervalMs),
            "heartbeat.interval.ms": String(heartbeatIntervalMs),
            // Apache Kafka answers a fetch as soon as data arrives; the Tansu broker used in
            // development waits out the full interval, which would add up to 500 ms per hop.
            "fetch.wait.max.ms": "100",
            "topic.metadata.refresh.interval.ms": metadataRefreshMs,
        ]
        for (key, value) in properties { settings[key] = value }
        return settings
    }
}

/// A record to publish.
public struct OutgoingRecord: Sendable, Hashable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [(String, String)]

    public init(topic: String, key: String?, value: [UInt8], headers: [(String, String)] = []) {
        self.topic = topic
        self.key = key.map { Array($0.utf8) }
        self.value = value
        self.headers = headers
    }

    var hasTraceContext: Bool { headers.contains { $0.0 == "traceparent" } }

    public static func == (lhs: OutgoingRecord, rhs: OutgoingRecord) -> Bool {
        lhs.topic == rhs.topic && lhs.key == rhs.key && lhs.value == rhs.value
            && lhs.headers.map(\.0) == rhs.headers.map(\.0) && lhs.headers.map(\.1) == rhs.headers.map(\.1)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(topic)
        hasher.combine(key)
        hasher.combine(value)
    }
}

/// A record received by a consumer.
public struct ConsumedRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [String: String]
    /// Broker or producer timestamp in milliseconds since 1970, when the broker has one.
    public var timestampMs: Int64?

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        headers: [String: String], timestampMs: Int64?
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
    }

    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

public struct KafkaError: Error, CustomStringConvertible, Sendable {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "Kafka error \(code): \(message)" }

    /// librdkafka's `_MSG_TIMED_OUT`: not acknowledged within `message.timeout.ms`.
    public static let messageTimedOut: Int32 = -192

    /// The broker no longer accepts this producer's id or epoch: fenced (90), out of order (45),
    /// invalid epoch (47), unknown id (59), invalid id mapping (49). Only a new handle recovers.
    public var isProducerStateError: Bool { [45, 47, 49, 59, 90].contains(code) }

    /// The record is larger than the broker (or the producer's `message.max.bytes`) accepts.
    public var isMessageTooLarge: Bool { code == 10 }
}
