import Contracts
import Foundation
import Kafka
import Liveness
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import Tracing

/// A record the handler refused for good (bad input). It goes to `<topic>.dlq` with the reason.
public struct RecordFailure: Sendable {
    public var record: ConsumedRecord
    public var reason: String

    public init(record: ConsumedRecord, reason: String) {
        self.record = record
        self.reason = reason
    }
}

/// Processes one batch. Return the records that are invalid for good; throw when the batch cannot
/// be processed. A transient failure (`TransientFailure.isTransient`: database or broker
/// unreachable, deadlock...) retries the same batch with backoff; any other failure is narrowed
/// down to the record that causes it, which is dead-lettered while the others are processed.
/// Handlers must be idempotent: a batch, or part of it, may be handled more than once.
public protocol BatchHandler: Sendable {
    func handle(_ batch: [ConsumedRecord]) async throws -> [RecordFailure]
}

/// The one consume loop: poll a batch, handle it, dead-letter refused records, commit, repeat.
/// The records of each partition in a batch are handled concurrently with the other partitions'
/// (in order within a partition), so a service uses more than one core and database connection.
/// One record never holds back the others: records the platform cannot store (too large, NUL in a
/// header) are refused before the handler sees them, and a batch that fails on its data is split
/// in halves until the failing record is found. On graceful shutdown it finishes the batch in
/// hand, commits it and leaves the group.
public final class ConsumerService: Service, Sendable {
    private let consumer: KafkaConsumer
    private let deadLetters: KafkaProducer
    private let handler: any BatchHandler
    private let maxBatch: Int
    private let maxRecordBytes: Int
    private let logger: Logger
    private let progress: LoopProgress
    private let stopping = Atomic<Bool>(false)
    private let processed: Counter
    private let deadLettered: Counter
    private let retried: Counter
    private let isolations: Counter
    private let batchDuration: Timer
    private let batchSize: Recorder
    private let recordWait: Timer

    public init(
        consumer: KafkaConsumer, deadLetters: KafkaProducer, handler: any BatchHandler, maxBatch: Int = 500,
        maxRecordBytes: Int = ConsumerService.defaultMaxRecordBytes, logger: Logger
    ) {
        self.consumer = consumer
        self.deadLetters = deadLetters
        self.handler = handler
        self.maxBatch = maxBatch
        self.maxRecordBytes = maxRecordBytes
        var logger = logger
        logger[metadataKey: "group"] = "\(consumer.groupId)"
        self.logger = logger
        progress = LoopMonitor.shared.register("consumer \(consumer.groupId)")
        let dimensions = [("group", consumer.groupId)]
        processed = Counter(label: "engage_consumer_records_processed_total", dimensions: dimensions)
        deadLettered = Counter(label: "engage_consumer_records_dead_lettered_total", dimensions: dimensions)
        retried = Counter(label: "engage_consumer_batch_retries_total", dimensions: dimensions)
        isolations = Counter(label: "engage_consumer_batch_splits_total", dimensions: dimensions)
        batchDuration = Timer(
            label: "engage_consumer_batch_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
        batchSize = Recorder(label: "engage_consumer_batch_records", dimensions: dimensions)
        recordWait = Timer(
            label: "engage_consumer_record_wait_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
    }

    /// No platform record comes near this; anything larger is refused unread.
    public static let defaultMaxRecordBytes = 1_048_576

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await consumeUntilStopped()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
        }
        await consumer.close()
        logger.info("consumer closed")
    }

    private var shouldStop: Bool { stopping.load(ordering: .relaxed) || Task.isCancelled }

    private func consumeUntilStopped() async throws {
        while !shouldStop {
            let batch = try await consumer.poll(maxRecords: maxBatch)
            guard !batch.isEmpty else { continue }
            progress.busy()
            let started = ContinuousClock.now
            recordWaits(batch)
            let (accepted, refused) = screen(batch)
            guard var failures = await handleWithRetry(accepted) else { return }
            failures += refused
            if !failures.isEmpty {
                guard await deadLetter(failures) else { return }
            }
            try await commit(batch)
            progress.idle()
            processed.increment(by: batch.count - failures.count)
            batchDuration.recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
            batchSize.record(batch.count)
        }
    }

    /// From each record's timestamp (its producer's send) to the start of its batch: the broker's
    /// fetch wait plus the queue in front of this consumer, the first hop of any latency.
    private func recordWaits(_ batch: [ConsumedRecord]) {
        let nowMs = Int64(Date().timeIntervalSince1970 * 1_000)
        for record in batch {
            guard let timestampMs = record.timestampMs else { continue }
            recordWait.recordNanoseconds(max(0, nowMs - timestampMs) * 1_000_000)
        }
    }

    /// Refuses, before any handler sees them, records that no handler could store.
    private func screen(_ batch: [ConsumedRecord]) -> ([ConsumedRecord], [RecordFailure]) {
        var accepted: [ConsumedRecord] = []
        var refused: [RecordFailure] = []
        accepted.reserveCapacity(batch.count)
        for record in batch {
            let size = (record.value?.count ?? 0) + (record.key?.count ?? 0)
            if size > maxRecordBytes {
                refused.append(
                    RecordFailure(record: record, reason: "record is \(size) bytes; the limit is \(maxRecordBytes)"))
            } else if record.key?.contains(0) == true {
                refused.append(
                    RecordFailure(record: record, reason: "the key contains NUL (0x00), which cannot be stored"))
            } else if let name = record.headers.first(where: { $0.key.utf8.contains(0) || $0.value.utf8.contains(0) })?
                .key
            {
                refused.append(
                    RecordFailure(
                        record: record,
                        reason: "header \"\(name.prefix(100))\" contains NUL (0x00), which cannot be stored"))
            } else {
                accepted.append(record)
            }
        }
        return (accepted, refused)
    }

    /// nil when shutdown came while the batch kept failing: it is left uncommitted for redelivery.
    private func handleWithRetry(_ batch: [ConsumedRecord]) async -> [RecordFailure]? {
        guard !batch.isEmpty else { return [] }
        var delay = Duration.milliseconds(100)
        while true {
            do {
                return try await LoopProgress.$current.withValue(progress) { try await handleByPartition(batch) }
            } catch {
                retried.increment()
                progress.failed(String(describing: error))
                logger.error(
                    "batch failed, retrying",
                    metadata: [
                        "error": "\(String(reflecting: error))", "records": "\(batch.count)",
                        "first_offset": "\(batch[0].topic)[\(batch[0].partition)]@\(batch[0].offset)",
                    ])
                if shouldStop { return nil }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    private func handleByPartition(_ batch: [ConsumedRecord]) async throws -> [RecordFailure] {
        var byPartition: [String: [ConsumedRecord]] = [:]
        for record in batch { byPartition["\(record.topic)/\(record.partition)", default: []].append(record) }
        if byPartition.count == 1 { return try await handleIsolating(batch[...]) }
        return try await withThrowingTaskGroup(of: [RecordFailure].self) { group in
            for records in byPartition.values {
                group.addTask { try await self.handleIsolating(records[...]) }
            }
            var failures: [RecordFailure] = []
            for try await partitionFailures in group { failures += partitionFailures }
            return failures
        }
    }

    /// Handles `records`; when that fails on the data (not a transient failure), handles each half
    /// on its own, down to the single record that fails, which is refused with the reason. The
    /// halves run in order, so records of one partition keep their order.
    private func handleIsolating(_ records: ArraySlice<ConsumedRecord>) async throws -> [RecordFailure] {
        do {
            return try await traced(records) { try await handler.handle(Array(records)) }
        } catch  where !TransientFailure.isTransient(error) {
            guard records.count > 1 else {
                let reason = TransientFailure.reason(error)
                logger.warning("record refused by processing", metadata: ["reason": "\(reason)"])
                return [RecordFailure(record: records[records.startIndex], reason: reason)]
            }
            isolations.increment()
            let middle = records.startIndex + records.count / 2
            let first = try await handleIsolating(records[..<middle])
            let second = try await handleIsolating(records[middle...])
            return first + second
        }
    }

    /// A consumer span per handled batch, continuing the trace of its first record (the other
    /// records' traces are linked): what the handler writes to the outbox carries this span's
    /// context, so the next service continues the same trace.
    private func traced<T>(_ records: ArraySlice<ConsumedRecord>, _ body: () async throws -> T) async throws -> T {
        guard let first = records.first else { return try await body() }
        return try await withSpan(
            "process \(first.topic)", context: TraceHeaders.context(of: first.headers), ofKind: .consumer
        ) { span in
            span.attributes["messaging.system"] = "kafka"
            span.attributes["messaging.destination.name"] = first.topic
            span.attributes["messaging.consumer.group.name"] = consumer.groupId
            span.attributes["messaging.batch.message_count"] = records.count
            var linked: Set<String> = [first.headers["traceparent"] ?? ""]
            for record in records.dropFirst() {
                guard let parent = record.headers["traceparent"], linked.insert(parent).inserted else { continue }
                span.addLink(SpanLink(context: TraceHeaders.context(of: record.headers), attributes: [:]))
            }
            return try await body()
        }
    }

    /// False when shutdown came before the dead letters were durable: the batch stays uncommitted.
    private func deadLetter(_ failures: [RecordFailure]) async -> Bool {
        var records = failures.map { failure in
            let record = failure.record
            logger.warning(
                "record dead-lettered",
                metadata: [
                    "topic": "\(record.topic)", "partition": "\(record.partition)", "offset": "\(record.offset)",
                    "reason": "\(failure.reason.prefix(1_000))",
                ])
            return DeadLetterRecord.make(failure, consumerGroup: consumer.groupId)
        }
        // A dead letter must be durable before the offset moves past its record.
        var delay = Duration.milliseconds(100)
        var withoutValues = false
        while true {
            do {
                try await deadLetters.send(records)
                deadLettered.increment(by: records.count)
                return true
            } catch let error as KafkaError where error.isMessageTooLarge && !withoutValues {
                // The broker's limit is lower than the bounded letter: keep only the description.
                logger.error(
                    "dead letter too large for the broker; sending it without the value",
                    metadata: ["error": "\(error)"])
                records = failures.map { DeadLetterRecord.make($0, consumerGroup: consumer.groupId, maxValueBytes: 0) }
                withoutValues = true
            } catch {
                progress.failed("dead-letter publish failed: \(error)")
                logger.error("dead-letter publish failed, retrying", metadata: ["error": "\(error)"])
                if shouldStop { return false }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    private func commit(_ batch: [ConsumedRecord]) async throws {
        do {
            try await consumer.commit(batch)
        } catch {
            // The consumer owes these offsets and commits them with the next batch or once idle;
            // until then a restart redelivers them, which the idempotent handler absorbs.
            logger.warning("offset commit failed; owed to the next commit", metadata: ["error": "\(error)"])
        }
    }
}

/// The record that goes to `<topic>.dlq`. It always fits the broker: a value or key beyond the
/// bound is cut to a prefix, and the letter says so and gives the original size.
public enum DeadLetterRecord {
    public static let maxValueBytes = 65_536
    static let maxKeyBytes = 1_024

    public static func make(
        _ failure: RecordFailure, consumerGroup: String, maxValueBytes: Int = maxValueBytes, now: Date = Date()
    ) -> OutgoingRecord {
        let record = failure.record
        let value = record.value ?? []
        let key = record.key.map { Array($0.prefix(maxKeyBytes)) }
        var letter = DeadLetter(
            originalTopic: record.topic, partition: record.partition, offset: record.offset,
            key: key, value: record.value.map { utf8Prefix($0, maxBytes: maxValueBytes) },
            reason: String(failure.reason.prefix(2_000)), consumerGroup: consumerGroup, failedAt: now)
        if value.count > maxValueBytes || (record.key?.count ?? 0) > maxKeyBytes {
            letter.truncated = true
            letter.originalSize = value.count
            letter.originalKeySize = record.key?.count
        }
        let encoded = (try? WireEncoder.encode(letter)) ?? Array("{}".utf8)
        return OutgoingRecord(
            topic: Topic.deadLetter(of: record.topic), key: key.map { String(decoding: $0, as: UTF8.self) },
            value: encoded,
            headers: [
                (Header.contract, DeadLetter.contract), (Header.dlqReason, String(failure.reason.prefix(1_000))),
                (Header.dlqTopic, record.topic), (Header.dlqPartition, String(record.partition)),
                (Header.dlqOffset, String(record.offset)),
            ])
    }

    /// At most `maxBytes` of `bytes`, cut before a UTF-8 continuation byte so that text stays text.
    static func utf8Prefix(_ bytes: [UInt8], maxBytes: Int) -> [UInt8] {
        guard bytes.count > maxBytes else { return bytes }
        var end = maxBytes
        while end > 0 && end < bytes.count && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return Array(bytes[..<end])
    }
}
