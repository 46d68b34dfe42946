import Contracts
import Foundation
import Testing

@testable import Kafka

@Suite(.serialized, .enabled(if: TestEnvironment.available, "needs ENGAGE_TEST_* from deploy/dev/test.sh"))
struct TopicSettingsTests {
    @Test(.timeLimit(.minutes(1)))
    func topicsAreCreatedWithTheirSettingsAndDifferencesAreReported() async throws {
        let compacted = TestEnvironment.uniqueName("test.settings.compacted.")
        let retained = TestEnvironment.uniqueName("test.settings.retained.")
        var config = TestEnvironment.kafka()
        config.topicConfigs = [compacted: ["cleanup.policy": "compact"], retained: ["retention.ms": "3600000"]]
        let producer = try KafkaProducer(config: config, logger: TestEnvironment.logger)
        try await producer.createTopics([compacted, retained])
        let client = producer.client
        let described = try await client.blocking { try client.topicConfigs([compacted, retained], timeoutMs: 10_000) }
        #expect(described[compacted]?["cleanup.policy"] == "compact")
        #expect(described[retained]?["retention.ms"] == "3600000")
        #expect(try await producer.topicSettingDifferences().isEmpty)
        await producer.shutdown()

        // A later release (or an operator's expectation) that differs from what the topic has.
        config.topicConfigs = [compacted: ["cleanup.policy": "delete"], retained: ["retention.ms": "3600000"]]
        let later = try KafkaProducer(config: config, logger: TestEnvironment.logger)
        try await later.createTopics([compacted, retained])  // existing topics are left as they are
        #expect(
            try await later.topicSettingDifferences() == ["\(compacted): cleanup.policy is compact, expected delete"])
        await later.shutdown()
    }

    @Test
    func replicaTopicsAreCompactedAndSubscriptionChangesKeptForever() {
        var settings = TopicSettings()
        settings.sourceEventsRetentionMs = 86_400_000
        let configs = settings.configs
        for topic in [Topic.spaces, Topic.subscriptionGroups, Topic.templates] {
            #expect(configs[topic]?["cleanup.policy"] == "compact")
        }
        #expect(configs[Topic.subscriptionChanges]?["retention.ms"] == "-1")
        #expect(configs[Topic.sourceEvents]?["retention.ms"] == "86400000")
        #expect(configs[Topic.tracking]?["retention.ms"] == "604800000")
        #expect(configs[Topic.deadLetter(of: Topic.tracking)]?["retention.ms"] == "2592000000")
    }
}
