import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Tracing

/// An idempotent (acks=all) producer. `send` returns once the broker acknowledged every record.
/// Delivery reports are served by a dedicated thread; run it as a Service so shutdown flushes.
///
/// Topics are never auto-created by the broker (which would use its own partition count): every
/// topic this producer writes to is created first with the configured partitions, and while the
/// producer runs it re-creates any of them that disappear (a broker that came back empty), so
/// records held for a missing topic are delivered as soon as it exists again.
public final class KafkaProducer: Service, Sendable {
    /// The librdkafka handle; replaced when it is wedged (see `replaceIfWedged`).
    private let current: Mutex<RdKafkaClient>
    var client: RdKafkaClient { current.withLock { $0 } }
    private let properties: [String: String]
    private let lastReplacement = Mutex<ContinuousClock.Instant>(.now)
    private let config: KafkaConfig
    private let logger: Logger
    private let polling = Atomic<Bool>(true)
    private let closed = Atomic<Bool>(false)
    /// Topics created (or found) by the process's producers: the ones they keep in existence.
    private static let keptTopics = Mutex<Set<String>>([])
    /// How often the kept topics are checked while the producer runs.
    private let topicCheckInterval: Duration

    /// `deliveryTimeout`: how long a record may wait for the broker's acknowledgement before `send`
    /// fails (librdkafka's `message.timeout.ms`); nil keeps the configured value.
    public init(
        config: KafkaConfig, deliveryTimeout: Duration? = nil, topicCheckInterval: Duration = .seconds(2),
        logger: Logger
    ) throws {
        self.config = config
        self.logger = logger
        self.topicCheckInterval = topicCheckInterval
        var properties = config.producerProperties
        if let deliveryTimeout {
            let milliseconds = String(Int64(deliveryTimeout / .milliseconds(1)))
            properties["message.timeout.ms"] = milliseconds
            // A record already sent to a broker that stopped answering only times out with its
            // request, so the request must not outlive the delivery timeout.
            properties["request.timeout.ms"] = milliseconds
        }
        self.properties = properties
        self.current = Mutex(try RdKafkaClient(kind: .producer, properties: properties, logger: logger))
        let thread = Thread { [self] in
            // Linux keeps 15 characters of a thread's name, and a longer one is not set at all.
            Thread.current.name = "kafka-producer"
            while polling.load(ordering: .relaxed) {
                client.pollEvents(timeoutMs: Self.pollTimeoutMs)
            }
        }
        thread.start()
    }

    /// How long the poll thread waits for delivery reports. A report ends the wait at once, so this
    /// only bounds an idle wait: a short one woke every producer 20 times a second for nothing. A
    /// replaced handle and shutdown interrupt the wait (`RdKafkaClient.interruptPoll`).
    static let pollTimeoutMs: Int32 = 1_000

    /// Creates the topics if missing (existing ones are left as they are), and keeps them: while
    /// the producer runs, a kept topic that disappears is created again.
    public func createTopics(_ topics: [String]) async throws {
        let partitions = config.topicPartitions
        let replication = config.replicationFactor
        let configs = config.topicConfigs
        let client = self.client
        try await client.blocking {
            try client.createTopics(
                topics, partitions: partitions, replicationFactor: replication, configs: configs, timeoutMs: 10_000)
        }
        Self.keptTopics.withLock { $0.formUnion(topics) }
    }

    /// Publishes the records and returns after every delivery report; throws the first failure.
    /// Records for one partition keep their order.
    public func send(_ records: [OutgoingRecord]) async throws {
        guard !records.isEmpty else { return }
        // Records written directly by traced work (a tracking call) carry its trace, under a
        // producer span; records relayed from an outbox already carry the trace that wrote them.
        guard TraceHeaders.isTracing, ServiceContext.current != nil, records.contains(where: { !$0.hasTraceContext })
        else {
            return try await deliver(records)
        }
        try await withSpan("publish \(records[0].topic)", ofKind: .producer) { span in
            span.attributes["messaging.system"] = "kafka"
            span.attributes["messaging.destination.name"] = records[0].topic
            span.attributes["messaging.batch.message_count"] = records.count
            let trace = TraceHeaders.current()
            try await deliver(
                records.map { record in
                    guard !record.hasTraceContext else { return record }
                    var traced = record
                    traced.headers += trace.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }
                    return traced
                })
        }
    }

    private func deliver(_ records: [OutgoingRecord]) async throws {
        let newTopics = Self.keptTopics.withLock { kept in Set(records.map(\.topic)).subtracting(kept) }
        if !newTopics.isEmpty { try await createTopics(newTopics.sorted()) }
        let client = self.client
        let tracker = DeliveryTracker(expected: records.count)
        var index = 0
        while index < records.count {
            do {
                switch try client.enqueue(records[index], tracker: tracker) {
                case .enqueued:
                    index += 1
                case .queueFull:
                    try await Task.sleep(for: .milliseconds(2))
                }
            } catch {
                let kafkaError = error as? KafkaError ?? KafkaError(code: -1, message: "\(error)")
                tracker.cancel(count: records.count - index, error: kafkaError)
                if client.hasFatalError { await replaceIfWedged(client, fatal: true) }
                break
            }
        }
        do {
            try await withCheckedThrowingContinuation { tracker.attach($0) }
        } catch let error as KafkaError {
            if client.hasFatalError || error.isProducerStateError {
                await replaceIfWedged(client, fatal: true)
            } else if error.code == KafkaError.messageTimedOut {
                await replaceIfWedged(client)
            }
            throw error
        }
    }

    /// An idempotent producer whose broker lost its state (a broker that came back empty) keeps
    /// answering "unknown producer id", and librdkafka only bumps its epoch locally: every record
    /// then times out although the broker is reachable. One that hit a fatal error (fenced, out of
    /// sequence after a broker stalled) refuses every record. A new handle asks for a new producer
    /// id. At most once every 10 seconds (2 after a fatal error); records still queued in the old
    /// handle fail (their senders retry or answer 503), so nothing is delivered twice out of order.
    private func replaceIfWedged(_ wedged: RdKafkaClient, fatal: Bool = false) async {
        guard current.withLock({ $0 === wedged }) else { return }
        if !fatal { guard await isBrokerReachable() else { return } }
        let due = lastReplacement.withLock { last in
            guard ContinuousClock.now - last > .seconds(fatal ? 2 : 10) else { return false }
            last = .now
            return true
        }
        guard due, let fresh = try? RdKafkaClient(kind: .producer, properties: properties, logger: logger) else {
            return
        }
        guard
            current.withLock({ client in
                guard client === wedged else { return false }
                client = fresh
                return true
            })
        else { return }
        // The poll thread may be waiting on the old handle: it moves to the new one at once.
        wedged.interruptPoll()
        logger.warning(
            fatal
                ? "producer hit a fatal error; replaced its librdkafka handle"
                : "producer timed out with the broker reachable; replaced its librdkafka handle")
        // A send that read the old handle just before the swap may still enqueue on it: keep
        // purging and serving its reports until it holds nothing, so that every such send ends.
        _ = try? await wedged.blocking {
            for round in 0..<60 {
                wedged.purge()
                _ = wedged.flush(timeoutMs: 500)
                if round >= 3 && wedged.outstandingRecords == 0 { break }
            }
        }
    }

    /// The settings of existing topics that differ from `KafkaConfig.topicConfigs`, one line each
    /// (`topic: key is value, expected value`); a topic created before the setting existed, or by
    /// hand, keeps its own until an operator changes it.
    public func topicSettingDifferences() async throws -> [String] {
        let expected = config.topicConfigs.filter { !$0.value.isEmpty }
        let client = self.client
        let actual = try await client.blocking { try client.topicConfigs(expected.keys.sorted(), timeoutMs: 10_000) }
        var differences: [String] = []
        for (topic, settings) in expected.sorted(by: { $0.key < $1.key }) {
            guard let described = actual[topic] else { continue }  // not there: created with the settings
            for (key, value) in settings.sorted(by: { $0.key < $1.key }) where described[key] != value {
                differences.append("\(topic): \(key) is \(described[key] ?? "the broker's default"), expected \(value)")
            }
        }
        return differences
    }

    public func send(_ record: OutgoingRecord) async throws {
        try await send([record])
    }

    /// A broker answered a metadata request within a second.
    public func isBrokerReachable() async -> Bool {
        let client = self.client
        return (try? await client.blocking { client.brokerReachable(timeoutMs: 1_000) }) ?? false
    }

    /// Keeps the topics in existence until graceful shutdown, then flushes.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.topicCheckInterval)
                await self.recreateMissingTopics()
            }
        }
        await shutdown()
    }

    /// How long a kept topic must have been missing before it is created again. librdkafka (up to
    /// 2.14 at least) corrupts its metadata cache, and crashes, when a topic it still caches comes
    /// back under a new topic id (librdkafka issues 4964, 5280): waiting until every handle has
    /// refreshed its metadata (`KafkaConfig.metadataRefreshMs`) and dropped the old topic avoids that.
    static let topicRecreationDelay = Duration.seconds(5)
    private let missingSince = Mutex<[String: ContinuousClock.Instant]>([:])

    /// Creates again the kept topics the broker no longer has (it came back empty).
    func recreateMissingTopics() async {
        let kept = Self.keptTopics.withLock { $0 }
        let client = self.client
        guard !kept.isEmpty, let existing = try? await client.blocking({ try client.topicNames(timeoutMs: 2_000) })
        else { return }
        let now = ContinuousClock.now
        let missing = missingSince.withLock { since in
            since = since.filter { !existing.contains($0.key) }
            for topic in kept.subtracting(existing) where since[topic] == nil { since[topic] = now }
            return since.filter { now - $0.value >= Self.topicRecreationDelay }.keys.sorted()
        }
        guard !missing.isEmpty else { return }
        logger.warning(
            "topics missing on the broker; creating them again",
            metadata: ["topics": "\(missing.joined(separator: ","))"])
        do {
            try await createTopics(missing)
        } catch {
            logger.error("could not create missing topics", metadata: ["error": "\(error)"])
        }
    }

    /// Waits for outstanding deliveries (up to 10 s), then stops the poll thread.
    public func shutdown() async {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        let client = self.client
        let flushed = (try? await client.blocking { client.flush(timeoutMs: 10_000) }) ?? false
        if !flushed { logger.warning("producer closed with undelivered records") }
        polling.store(false, ordering: .relaxed)
        client.interruptPoll()
    }
}
