import Contracts
import Foundation
import Kafka
import Testing

@Suite(.serialized, .enabled(if: TestEnvironment.available, "needs ENGAGE_TEST_* from deploy/dev/test.sh"))
struct KafkaTests {
    @Test(.timeLimit(.minutes(2)))
    func producedRecordsArriveWithKeysHeadersAndOrder() async throws {
        let topic = TestEnvironment.uniqueName("test.order.")
        let producer = try KafkaProducer(config: TestEnvironment.kafka(), logger: TestEnvironment.logger)
        try await producer.createTopics([topic])
        let records = (0..<50).map {
            OutgoingRecord(topic: topic, key: "k", value: Array("v\($0)".utf8), headers: [("h", "x\($0)")])
        }
        try await producer.send(records)
        await producer.shutdown()

        let received = try await TestEnvironment.consume(topic, count: 50)
        #expect(received.count == 50)
        #expect(received.map { String(decoding: $0.value ?? [], as: UTF8.self) } == (0..<50).map { "v\($0)" })
        #expect(received.first?.keyString == "k")
        #expect(received.last?.headers["h"] == "x49")
    }

    @Test(.timeLimit(.minutes(2)))
    func uncommittedRecordsAreRedeliveredAndCommittedOnesAreNot() async throws {
        let topic = TestEnvironment.uniqueName("test.commit.")
        let group = TestEnvironment.uniqueName("g-")
        let producer = try KafkaProducer(config: TestEnvironment.kafka(), logger: TestEnvironment.logger)
        try await producer.createTopics([topic])
        try await producer.send((0..<4).map { OutgoingRecord(topic: topic, key: nil, value: Array("r\($0)".utf8)) })
        await producer.shutdown()

        func readAll(commitFirst: Int?) async throws -> [String] {
            let consumer = try KafkaConsumer(
                config: TestEnvironment.kafka(), groupId: group, topics: [topic], logger: TestEnvironment.logger)
            var seen: [ConsumedRecord] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while seen.count < 4 && ContinuousClock.now < deadline {
                seen += try await consumer.poll(maxRecords: 10)
            }
            if let commitFirst { try await consumer.commit(Array(seen.prefix(commitFirst))) }
            await consumer.close()
            return seen.map { String(decoding: $0.value ?? [], as: UTF8.self) }
        }
        // First member reads everything but commits nothing: a new member sees it all again.
        #expect(try await readAll(commitFirst: nil) == ["r0", "r1", "r2", "r3"])
        // This one commits after the first two: the next member starts at r2.
        #expect(try await readAll(commitFirst: 2) == ["r0", "r1", "r2", "r3"])
        let consumer = try KafkaConsumer(
            config: TestEnvironment.kafka(), groupId: group, topics: [topic], logger: TestEnvironment.logger)
        var rest: [ConsumedRecord] = []
        let deadline = ContinuousClock.now + .seconds(20)
        while rest.count < 2 && ContinuousClock.now < deadline { rest += try await consumer.poll(maxRecords: 10) }
        await consumer.close()
        #expect(rest.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["r2", "r3"])
    }

    @Test(.timeLimit(.minutes(2)))
    func brokerReachabilityIsReported() async throws {
        let producer = try KafkaProducer(config: TestEnvironment.kafka(), logger: TestEnvironment.logger)
        #expect(await producer.isBrokerReachable())
        await producer.shutdown()
        let nowhere = try KafkaProducer(
            config: KafkaConfig(brokers: "127.0.0.1:1", clientId: "t"), logger: TestEnvironment.logger)
        #expect(await nowhere.isBrokerReachable() == false)
        await nowhere.shutdown()
    }
}
