import Contracts
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// A record the handler refused for good (bad input). It goes to `<topic>.dlq` with the reason.
public struct RecordFailure: Sendable {
    public var record: ConsumedRecord
    public var reason: String

    public init(record: ConsumedRecord, reason: String) {
        self.record = record
        self.reason = reason
    }
}

/// Processes one batch. Return the records that are invalid for good; throw for a failure that a
/// retry may cure (database down), and the same batch is retried with backoff.
public protocol BatchHandler: Sendable {
    func handle(_ batch: [ConsumedRecord]) async throws -> [RecordFailure]
}

/// The one consume loop: poll a batch, handle it, dead-letter refused records, commit, repeat.
/// The records of each partition in a batch are handled concurrently with the other partitions'
/// (in order within a partition), so a service uses more than one core and database connection.
/// On graceful shutdown it finishes the batch in hand, commits it and leaves the group.
public final class ConsumerService: Service, Sendable {
    private let consumer: KafkaConsumer
    private let deadLetters: KafkaProducer
    private let handler: any BatchHandler
    private let maxBatch: Int
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let processed: Counter
    private let deadLettered: Counter
    private let retried: Counter
    private let batchDuration: Timer
    private let batchSize: Recorder

    public init(consumer: KafkaConsumer, deadLetters: KafkaProducer, handler: any BatchHandler, maxBatch: Int = 500, logger: Logger) {
        self.consumer = consumer
        self.deadLetters = deadLetters
        self.handler = handler
        self.maxBatch = maxBatch
        var logger = logger
        logger[metadataKey: "group"] = "\(consumer.groupId)"
        self.logger = logger
        let dimensions = [("group", consumer.groupId)]
        processed = Counter(label: "engage_consumer_records_processed_total", dimensions: dimensions)
        deadLettered = Counter(label: "engage_consumer_records_dead_lettered_total", dimensions: dimensions)
        retried = Counter(label: "engage_consumer_batch_retries_total", dimensions: dimensions)
        batchDuration = Timer(label: "engage_consumer_batch_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
        batchSize = Recorder(label: "engage_consumer_batch_records", dimensions: dimensions)
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await consumeUntilStopped()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
        }
        await consumer.close()
        logger.info("consumer closed")
    }

    private func consumeUntilStopped() async throws {
        while !stopping.load(ordering: .relaxed) && !Task.isCancelled {
            let batch = try await consumer.poll(maxRecords: maxBatch)
            guard !batch.isEmpty else { continue }
            let started = ContinuousClock.now
            guard let failures = await handleWithRetry(batch) else { return }
            if !failures.isEmpty {
                try await deadLetter(failures)
            }
            try await commit(batch)
            processed.increment(by: batch.count - failures.count)
            batchDuration.recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
            batchSize.record(batch.count)
        }
    }

    /// nil when shutdown came while the batch kept failing: it is left uncommitted for redelivery.
    private func handleWithRetry(_ batch: [ConsumedRecord]) async -> [RecordFailure]? {
        var delay = Duration.milliseconds(100)
        while true {
            do {
                return try await handleByPartition(batch)
            } catch {
                retried.increment()
                logger.error("batch failed, retrying", metadata: [
                    "error": "\(String(reflecting: error))", "records": "\(batch.count)",
                    "first_offset": "\(batch[0].topic)[\(batch[0].partition)]@\(batch[0].offset)",
                ])
                if stopping.load(ordering: .relaxed) || Task.isCancelled { return nil }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    private func handleByPartition(_ batch: [ConsumedRecord]) async throws -> [RecordFailure] {
        var byPartition: [String: [ConsumedRecord]] = [:]
        for record in batch { byPartition["\(record.topic)/\(record.partition)", default: []].append(record) }
        if byPartition.count == 1 { return try await handler.handle(batch) }
        return try await withThrowingTaskGroup(of: [RecordFailure].self) { group in
            for records in byPartition.values {
                group.addTask { try await self.handler.handle(records) }
            }
            var failures: [RecordFailure] = []
            for try await partitionFailures in group { failures += partitionFailures }
            return failures
        }
    }

    private func deadLetter(_ failures: [RecordFailure]) async throws {
        let encoder = JSONEncoder.engage()
        let records = try failures.map { failure in
            let record = failure.record
            logger.warning("record dead-lettered", metadata: [
                "topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)",
                "reason": "\(failure.reason)",
            ])
            let letter = DeadLetter(originalTopic: record.topic, partition: record.partition, offset: record.offset,
                                    key: record.key, value: record.value, reason: failure.reason,
                                    consumerGroup: consumer.groupId, failedAt: Date())
            return OutgoingRecord(
                topic: Topic.deadLetter(of: record.topic), key: record.keyString,
                value: Array(try encoder.encode(letter)),
                headers: [
                    (Header.contract, DeadLetter.contract), (Header.dlqReason, String(failure.reason.prefix(1_000))),
                    (Header.dlqTopic, record.topic), (Header.dlqPartition, String(record.partition)),
                    (Header.dlqOffset, String(record.offset)),
                ])
        }
        // A dead letter must be durable before the offset moves past its record.
        var delay = Duration.milliseconds(100)
        while true {
            do {
                try await deadLetters.send(records)
                deadLettered.increment(by: records.count)
                return
            } catch {
                logger.error("dead-letter publish failed, retrying", metadata: ["error": "\(error)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    private func commit(_ batch: [ConsumedRecord]) async throws {
        do {
            try await consumer.commit(batch)
        } catch {
            // A failed commit only means redelivery, which the idempotent handler absorbs.
            logger.warning("offset commit failed", metadata: ["error": "\(error)"])
        }
    }
}
