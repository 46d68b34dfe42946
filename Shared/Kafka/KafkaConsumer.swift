import Logging

/// A consumer-group member. Offsets move only when `commit` is called, after processing.
public final class KafkaConsumer: Sendable {
    let client: RdKafkaClient
    public let groupId: String

    public init(config: KafkaConfig, groupId: String, topics: [String], logger: Logger) throws {
        self.groupId = groupId
        var logger = logger
        logger[metadataKey: "group"] = "\(groupId)"
        client = try RdKafkaClient(kind: .consumer, properties: config.consumerProperties(groupId: groupId), logger: logger)
        try client.subscribe(topics)
    }

    /// Waits up to `timeout` for records and returns what arrived (possibly none).
    public func poll(maxRecords: Int, timeout: Duration = .milliseconds(100)) async throws -> [ConsumedRecord] {
        let milliseconds = Int32(timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return try await client.blocking { [client] in client.consumeBatch(maxRecords: maxRecords, timeoutMs: milliseconds) }
    }

    /// Synchronously commits the offsets after these records.
    public func commit(_ records: [ConsumedRecord]) async throws {
        try await client.blocking { [client] in try client.commit(records) }
    }

    /// Leaves the group; call once, after the last commit.
    public func close() async {
        _ = try? await client.blocking { [client] in client.closeConsumer() }
    }

    /// Batches as an AsyncSequence: each `next()` waits for at least one record and ends when the
    /// task is cancelled. Commit each batch yourself after processing it.
    public func batches(maxRecords: Int) -> Batches { Batches(consumer: self, maxRecords: maxRecords) }

    public struct Batches: AsyncSequence, Sendable {
        let consumer: KafkaConsumer
        let maxRecords: Int

        public struct AsyncIterator: AsyncIteratorProtocol {
            let consumer: KafkaConsumer
            let maxRecords: Int

            public mutating func next() async throws -> [ConsumedRecord]? {
                while !Task.isCancelled {
                    let records = try await consumer.poll(maxRecords: maxRecords)
                    if !records.isEmpty { return records }
                }
                return nil
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer, maxRecords: maxRecords) }
    }
}
