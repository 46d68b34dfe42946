import Contracts
import Kafka
import Persistence
import Testing

@Suite struct RecordRouterTests {
    enum Input: Equatable {
        case group(String)
        case text(String)
    }

    static let router = RecordRouter<Input>([
        .contract(Topic.subscriptionGroups, SubscriptionGroupRecord.self, SubscriptionGroupRecord.contract) {
            .group($0.name)
        },
        .init("test.text") { value throws(InvalidMessage) in
            guard let value, !value.isEmpty else { throw InvalidMessage("empty record") }
            return .text(String(decoding: value, as: UTF8.self))
        },
    ])

    func record(_ topic: String, _ text: String?, offset: Int64) -> ConsumedRecord {
        ConsumedRecord(
            topic: topic, partition: 0, offset: offset, key: nil, value: text.map { Array($0.utf8) }, headers: [:],
            timestampMs: nil)
    }

    @Test func theTableNamesTheTopicsInItsOrder() {
        #expect(Self.router.topics == [Topic.subscriptionGroups, "test.text"])
    }

    @Test func everyRecordBecomesAnInputInBatchOrderOrAFailureWithItsReason() {
        let group = #"{"schemaVersion":1,"spaceId":"s","id":"g1","name":"News","deleted":false,"revision":1}"#
        let (inputs, failures) = Self.router.decode([
            record("test.text", "first", offset: 1),
            record(Topic.subscriptionGroups, group, offset: 2),
            record(Topic.subscriptionGroups, #"{"name": 1}"#, offset: 3),
            record("test.text", nil, offset: 4),
            record("test.other", "x", offset: 5),
            record("test.text", "last", offset: 6),
        ])
        #expect(inputs == [.text("first"), .group("News"), .text("last")])
        #expect(failures.map(\.record.offset) == [3, 4, 5])
        #expect(failures[0].reason.hasPrefix("not a subscription-group/1 record"))
        #expect(failures[1].reason == "empty record")
        #expect(failures[2].reason == "no consumer of test.other here")
    }
}
