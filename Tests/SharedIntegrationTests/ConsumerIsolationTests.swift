import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import ServiceLifecycle
import Synchronization
import Testing

/// Fails any batch holding a "bad" record the way a database refuses data (not transient), and the
/// first `transientFailures` batches the way a lost connection does.
final class DataErrorHandler: BatchHandler {
    struct DataError: Error, CustomStringConvertible { var description: String { "value out of range" } }
    let stored = Mutex<[String]>([])
    let calls = Mutex(0)
    let transientFailures: Int

    init(transientFailures: Int = 0) { self.transientFailures = transientFailures }

    func handle(_ batch: [ConsumedRecord]) async throws -> [RecordFailure] {
        let call = calls.withLock { calls in
            calls += 1
            return calls
        }
        if call <= transientFailures { throw KafkaError(code: -195, message: "Local: Broker transport failure") }
        let values = batch.map { String(decoding: $0.value ?? [], as: UTF8.self) }
        if values.contains(where: { $0.hasPrefix("bad") }) { throw DataError() }
        stored.withLock { $0 += values }
        return []
    }
}

@Suite(.serialized, .enabled(if: TestEnvironment.available, "needs ENGAGE_TEST_* from deploy/dev/test.sh"))
struct ConsumerIsolationTests {
    /// Runs a ConsumerService over `values` (one partition, `headers` on every record) until `done`
    /// holds; returns the topic and the dead letters, one per value starting with "bad" or larger
    /// than `maxRecordBytes` unless `expectedLetters` says otherwise.
    func consume(
        _ values: [String], headers: [[(String, String)]]? = nil, expectedLetters: Int? = nil,
        handler: some BatchHandler,
        maxRecordBytes: Int = ConsumerService.defaultMaxRecordBytes,
        until done: @escaping @Sendable () -> Bool
    ) async throws -> (topic: String, letters: [DeadLetter]) {
        let topic = TestEnvironment.uniqueName("test.isolation.")
        let logger = TestEnvironment.logger
        let producer = try KafkaProducer(config: TestEnvironment.kafka(), logger: logger)
        try await producer.createTopics([topic, Topic.deadLetter(of: topic)])
        try await producer.send(
            values.indices.map {
                OutgoingRecord(topic: topic, key: "k", value: Array(values[$0].utf8), headers: headers?[$0] ?? [])
            })
        let consumer = try KafkaConsumer(
            config: TestEnvironment.kafka(), groupId: TestEnvironment.uniqueName("g-"), topics: [topic], logger: logger)
        let service = ConsumerService(
            consumer: consumer, deadLetters: producer, handler: handler, maxRecordBytes: maxRecordBytes, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while !done() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        await producer.shutdown()
        let expected = expectedLetters ?? values.filter { $0.hasPrefix("bad") || $0.utf8.count > maxRecordBytes }.count
        let letters = try await TestEnvironment.consume(
            Topic.deadLetter(of: topic), count: expected, timeout: .seconds(expected == 0 ? 3 : 30))
        return (topic, try letters.map { try WireDecoder.decode(DeadLetter.self, from: $0.value ?? []) })
    }

    @Test(.timeLimit(.minutes(2)))
    func aDataErrorIsNarrowedToItsRecordAndTheOthersAreStoredInOrder() async throws {
        let values = (0..<20).map { $0 == 7 || $0 == 13 ? "bad-\($0)" : "good-\($0)" }
        let handler = DataErrorHandler()
        let (topic, letters) = try await consume(values, handler: handler) {
            handler.stored.withLock { $0.count } == 18
        }
        #expect(handler.stored.withLock { $0 } == values.filter { $0.hasPrefix("good") })
        #expect(letters.map(\.value) == ["bad-7", "bad-13"])
        #expect(letters.map(\.offset) == [7, 13])
        #expect(letters.allSatisfy { $0.originalTopic == topic && $0.reason.contains("value out of range") })
    }

    @Test(.timeLimit(.minutes(2)))
    func aTransientFailureRetriesTheWholeBatchWithoutDeadLettering() async throws {
        let values = (0..<5).map { "good-\($0)" }
        let handler = DataErrorHandler(transientFailures: 2)
        let (_, letters) = try await consume(values, handler: handler) { handler.stored.withLock { $0.count } == 5 }
        #expect(handler.stored.withLock { $0 } == values)
        #expect(handler.calls.withLock { $0 } >= 3)
        #expect(letters.isEmpty)
    }

    @Test(.timeLimit(.minutes(2)))
    func anOversizedRecordIsDeadLetteredAsABoundedPrefixWithItsSize() async throws {
        let large = "big-" + String(repeating: "x", count: 200_000)
        let handler = DataErrorHandler()
        let (_, letters) = try await consume(["good-0", large, "good-1"], handler: handler, maxRecordBytes: 100_000) {
            handler.stored.withLock { $0.count } == 2
        }
        #expect(handler.stored.withLock { $0 } == ["good-0", "good-1"])
        #expect(letters.count == 1)
        let letter = try #require(letters.first)
        #expect(letter.truncated == true)
        #expect(letter.originalSize == large.utf8.count)
        #expect(letter.offset == 1)
        #expect((letter.value?.utf8.count ?? 0) == DeadLetterRecord.maxValueBytes)
        #expect(letter.reason == "record is \(large.utf8.count + 1) bytes; the limit is 100000")
    }

    @Test(.timeLimit(.minutes(2)))
    func aNulInAHeaderIsRefusedBeforeTheHandler() async throws {
        let handler = DataErrorHandler()
        let (_, letters) = try await consume(
            ["good-0", "good-1"], headers: [[("write-key", "a\u{0}b")], []], expectedLetters: 1,
            handler: handler
        ) { !handler.stored.withLock { $0.isEmpty } }
        #expect(handler.stored.withLock { $0 } == ["good-1"])
        #expect(letters.map(\.reason) == ["header \"write-key\" contains NUL (0x00), which cannot be stored"])
    }
}

@Suite struct DeadLetterRecordTests {
    func failure(value: [UInt8]) -> RecordFailure {
        RecordFailure(
            record: ConsumedRecord(
                topic: "t", partition: 2, offset: 9, key: Array("k".utf8), value: value, headers: [:], timestampMs: nil),
            reason: "bad")
    }

    @Test func aSmallRecordIsCarriedWhole() throws {
        let record = DeadLetterRecord.make(failure(value: Array("{\"a\":1}".utf8)), consumerGroup: "g")
        let letter = try WireDecoder.decode(DeadLetter.self, from: record.value)
        #expect(record.topic == "t.dlq")
        #expect(letter.value == "{\"a\":1}")
        #expect(letter.truncated == nil && letter.originalSize == nil)
    }

    @Test func aLargeTextIsCutAtACharacterBoundary() throws {
        // "é" is two bytes: a cut in the middle of one would make the prefix invalid UTF-8.
        let value = Array(String(repeating: "é", count: 40_000).utf8)
        let record = DeadLetterRecord.make(failure(value: value), consumerGroup: "g", maxValueBytes: 1_001)
        let letter = try WireDecoder.decode(DeadLetter.self, from: record.value)
        #expect(letter.value == String(repeating: "é", count: 500))
        #expect(letter.truncated == true)
        #expect(letter.originalSize == 80_000)
        #expect(record.value.count < 2_000)
    }

    @Test func binaryIsKeptAsBase64Prefix() throws {
        let value: [UInt8] = Array(repeating: 0xFF, count: 5_000_000)
        let record = DeadLetterRecord.make(failure(value: value), consumerGroup: "g")
        let letter = try WireDecoder.decode(DeadLetter.self, from: record.value)
        #expect(letter.valueBase64.map { Data(base64Encoded: $0)?.count } == DeadLetterRecord.maxValueBytes)
        #expect(letter.originalSize == 5_000_000)
        #expect(record.value.count < 100_000)
    }
}
