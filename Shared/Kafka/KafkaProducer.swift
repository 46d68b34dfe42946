import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An idempotent (acks=all) producer. `send` returns once the broker acknowledged every record.
/// Delivery reports are served by a dedicated thread; run it as a Service so shutdown flushes.
public final class KafkaProducer: Service, Sendable {
    let client: RdKafkaClient
    private let config: KafkaConfig
    private let logger: Logger
    private let polling = Atomic<Bool>(true)
    private let closed = Atomic<Bool>(false)

    public init(config: KafkaConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        self.client = try RdKafkaClient(kind: .producer, properties: config.producerProperties, logger: logger)
        let thread = Thread { [self] in
            while polling.load(ordering: .relaxed) {
                client.pollEvents(timeoutMs: 50)
            }
        }
        thread.name = "engage-kafka-producer-poll"
        thread.start()
    }

    /// Creates the topics if missing (existing ones are left as they are).
    public func createTopics(_ topics: [String]) async throws {
        let partitions = config.topicPartitions
        let replication = config.replicationFactor
        try await client.blocking { [client] in
            try client.createTopics(topics, partitions: partitions, replicationFactor: replication, timeoutMs: 10_000)
        }
    }

    /// Publishes the records and returns after every delivery report; throws the first failure.
    /// Records for one partition keep their order.
    public func send(_ records: [OutgoingRecord]) async throws {
        guard !records.isEmpty else { return }
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
                break
            }
        }
        try await withCheckedThrowingContinuation { tracker.attach($0) }
    }

    public func send(_ record: OutgoingRecord) async throws {
        try await send([record])
    }

    /// A broker answered a metadata request within a second.
    public func isBrokerReachable() async -> Bool {
        (try? await client.blocking { [client] in client.brokerReachable(timeoutMs: 1_000) }) ?? false
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Waits for outstanding deliveries (up to 10 s), then stops the poll thread.
    public func shutdown() async {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        let flushed = (try? await client.blocking { [client] in client.flush(timeoutMs: 10_000) }) ?? false
        if !flushed { logger.warning("producer closed with undelivered records") }
        polling.store(false, ordering: .relaxed)
    }
}
