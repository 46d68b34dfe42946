import Foundation
import Testing

@testable import Kafka

/// A broker that comes back empty, or a topic deleted and created again, restarts the topic's
/// offsets at 0 while a consumer's positions (and the group's committed offsets) point into the
/// old topic. The consumer must read the new topic from its beginning.
@Suite(.serialized, .enabled(if: TestEnvironment.available, "needs ENGAGE_TEST_* from deploy/dev/test.sh"))
struct TopicRecreationTests {
    @Test(.timeLimit(.minutes(2)))
    func aRecreatedTopicIsReadFromItsBeginning() async throws {
        let topic = TestEnvironment.uniqueName("test.recreated.")
        let checkInterval = Duration.milliseconds(200)
        let producer = try KafkaProducer(config: TestEnvironment.kafka(), logger: TestEnvironment.logger)
        try await producer.createTopics([topic])
        try await producer.send((0..<5).map { OutgoingRecord(topic: topic, key: "k", value: Array("old\($0)".utf8)) })
        let consumer = try KafkaConsumer(
            config: TestEnvironment.kafka(), groupId: TestEnvironment.uniqueName("g-"),
            topics: [topic], topicCheckInterval: checkInterval, logger: TestEnvironment.logger)
        let old = try await poll(consumer, until: { $0.count >= 5 })
        #expect(old.map(\.offset) == [0, 1, 2, 3, 4])
        try await consumer.commit(old)

        let admin = producer.client
        try await admin.blocking { try admin.deleteTopics([topic], timeoutMs: 10_000) }
        // The consumer notices between polls; keep it polling until it has seen the topic gone
        // (a slow metadata answer under load can take longer than a few check intervals).
        let gone = ContinuousClock.now + .seconds(30)
        while !consumer.hasSeenGone(topic), ContinuousClock.now < gone {
            _ = try await consumer.poll(maxRecords: 10)
        }
        #expect(consumer.hasSeenGone(topic))

        try await producer.createTopics([topic])
        // More records than the old topic had: a consumer still at the old position (5) reads 5...7
        // and skips 0...4 on any broker (one whose log ends below the position would reset it).
        try await producer.send((0..<8).map { OutgoingRecord(topic: topic, key: "k", value: Array("new\($0)".utf8)) })
        await producer.shutdown()
        let new = try await poll(consumer, until: { $0.count >= 8 })
        await consumer.close()
        #expect(new.map { String(decoding: $0.value ?? [], as: UTF8.self) } == (0..<8).map { "new\($0)" })
    }

    @Test
    func aMemberJoinsAgainWhenItsLastAssignmentCameWhileATopicWasMissing() {
        let start = ContinuousClock.now
        var check = AssignmentWithoutTopics()
        /// One check `at` seconds from the start; `assigned`: seconds of the last assignment.
        func joinsAgain(present: Bool, at: Int, assigned: Int?) -> Bool {
            check.observe(
                allPresent: present, at: start + .seconds(at), lastAssignment: assigned.map { start + .seconds($0) },
                margin: .seconds(4))
        }
        // Steady state: topics present, nothing to do, whatever the assignment.
        #expect(!joinsAgain(present: true, at: 0, assigned: -60))
        // A topic goes missing; the group assigns while it is; it comes back: join again, once.
        #expect(!joinsAgain(present: false, at: 2, assigned: nil))
        #expect(!joinsAgain(present: false, at: 4, assigned: 3))
        #expect(joinsAgain(present: true, at: 6, assigned: 3))
        #expect(!joinsAgain(present: true, at: 8, assigned: 3))
        // Missing, then an assignment well after the topic was back: made with it, nothing to do.
        #expect(!joinsAgain(present: false, at: 10, assigned: 3))
        #expect(!joinsAgain(present: true, at: 20, assigned: 18))
    }

    @Test
    func onlyATopicSeenGoneAndBackCountsAsRecreated() {
        var topics = RecreatedTopics()
        // Not created yet, then created: a first appearance, not a re-creation.
        #expect(topics.observe(existing: [], subscribed: ["a", "b"]).isEmpty)
        #expect(topics.observe(existing: ["a", "b"], subscribed: ["a", "b"]).isEmpty)
        // One answer without "a" is not enough to call it gone.
        #expect(topics.observe(existing: ["b"], subscribed: ["a", "b"]).isEmpty)
        #expect(topics.observe(existing: ["a", "b"], subscribed: ["a", "b"]).isEmpty)
        // Two in a row are; back after that, it was created again.
        #expect(topics.observe(existing: ["b"], subscribed: ["a", "b"]).isEmpty)
        #expect(topics.observe(existing: ["b"], subscribed: ["a", "b"]).isEmpty)
        #expect(topics.observe(existing: ["a", "b"], subscribed: ["a", "b"]) == ["a"])
        #expect(topics.observe(existing: ["a", "b"], subscribed: ["a", "b"]).isEmpty)
    }

    private func poll(_ consumer: KafkaConsumer, until done: ([ConsumedRecord]) -> Bool) async throws
        -> [ConsumedRecord]
    {
        var records: [ConsumedRecord] = []
        let deadline = ContinuousClock.now + .seconds(40)
        while !done(records) && ContinuousClock.now < deadline { records += try await consumer.poll(maxRecords: 10) }
        return records
    }
}
