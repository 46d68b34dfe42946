import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import ServiceLifecycle
import Synchronization
import Testing

/// Refuses records whose value is "poison", remembers the rest.
final class RecordingHandler: BatchHandler {
    let seen = Mutex<[String]>([])

    func handle(_ batch: [ConsumedRecord]) async throws -> [RecordFailure] {
        var failures: [RecordFailure] = []
        for record in batch {
            let text = String(decoding: record.value ?? [], as: UTF8.self)
            if text == "poison" {
                failures.append(RecordFailure(record: record, reason: "value is poison"))
            } else {
                seen.withLock { $0.append(text) }
            }
        }
        return failures
    }
}

@Suite(.serialized, .enabled(if: TestEnvironment.available, "needs ENGAGE_TEST_* from deploy/dev/test.sh"))
struct ConsumerServiceTests {
    @Test(.timeLimit(.minutes(2)))
    func aPoisonRecordGoesToTheDeadLetterTopicAndTheRestAreProcessed() async throws {
        let topic = TestEnvironment.uniqueName("test.dlq.")
        let logger = TestEnvironment.logger
        let producer = try KafkaProducer(config: TestEnvironment.kafka(), logger: logger)
        try await producer.createTopics([topic, Topic.deadLetter(of: topic)])
        try await producer.send(
            ["a", "poison", "b"].map { OutgoingRecord(topic: topic, key: "k", value: Array($0.utf8)) })

        let handler = RecordingHandler()
        let consumer = try KafkaConsumer(
            config: TestEnvironment.kafka(), groupId: TestEnvironment.uniqueName("g-"), topics: [topic], logger: logger)
        let service = ConsumerService(consumer: consumer, deadLetters: producer, handler: handler, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(30)
            while handler.seen.withLock({ $0.count }) < 2 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(handler.seen.withLock { $0 } == ["a", "b"])

        let letters = try await TestEnvironment.consume(Topic.deadLetter(of: topic), count: 1)
        #expect(letters.count == 1)
        let letter = try WireDecoder.decode(DeadLetter.self, from: letters[0].value ?? [])
        #expect(letter.reason == "value is poison")
        #expect(letter.value == "poison")
        #expect(letter.originalTopic == topic)
        #expect(letter.offset == 1)
        #expect(letters[0].headers[Header.dlqReason] == "value is poison")
        await producer.shutdown()
    }
}
