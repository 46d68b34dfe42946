import Testing

@testable import Kafka

/// A commit that fails leaves its offsets owed until a later commit carries them, unless the member
/// loses partitions in the meantime.
struct OwedOffsetsTests {
    private func record(_ topic: String, _ partition: Int32, _ offset: Int64) -> ConsumedRecord {
        ConsumedRecord(
            topic: topic, partition: partition, offset: offset, key: nil, value: nil, headers: [:], timestampMs: nil)
    }

    private func offsets(_ entries: [(String, Int32, Int64)]) -> [TopicPartition: Int64] {
        Dictionary(uniqueKeysWithValues: entries.map { (TopicPartition(topic: $0.0, partition: $0.1), $0.2) })
    }

    @Test
    func aCommitIsTheOffsetAfterTheLastRecordOfEachPartition() {
        let commit = CommitOffsets([record("a", 0, 4), record("a", 0, 2), record("a", 1, 7), record("b", 0, 0)])
        #expect(commit.next == offsets([("a", 0, 5), ("a", 1, 8), ("b", 0, 1)]))
    }

    @Test
    func failedOffsetsRideOnTheNextCommitAndAreRetriedOnTheirOwnWithBackoff() {
        var owed = OwedOffsets()
        let start = ContinuousClock.now
        #expect(owed.owed(revocations: 0).isEmpty)
        #expect(owed.due(at: start, revocations: 0) == nil)

        let first = CommitOffsets([record("a", 0, 9), record("a", 1, 3)])
        owed.failed(first, at: start, revocations: 0)
        #expect(owed.owed(revocations: 0) == first)
        // Not retried on its own before its delay, then due; at shutdown, whatever the delay.
        #expect(owed.due(at: start + .milliseconds(500), revocations: 0) == nil)
        #expect(owed.due(at: nil, revocations: 0) == first)
        #expect(owed.due(at: start + OwedOffsets.firstRetry, revocations: 0) == first)
        // A second failure doubles the wait, even when part of that commit went through.
        owed.failed(
            first.only([TopicPartition(topic: "a", partition: 0)]), at: start + .seconds(1), revocations: 0,
            committed: first.only([TopicPartition(topic: "a", partition: 1)]))
        let stillOwed = first.only([TopicPartition(topic: "a", partition: 0)])
        #expect(owed.due(at: start + .seconds(2), revocations: 0) == nil)
        #expect(owed.due(at: start + .seconds(3), revocations: 0) == stillOwed)
        owed.failed(stillOwed, at: start + .seconds(3), revocations: 0)
        #expect(owed.due(at: start + .seconds(6), revocations: 0) == nil)
        #expect(owed.due(at: start + .seconds(7), revocations: 0) == stillOwed)

        // The next batch's commit carries what is owed.
        let sent = owed.withOwed(CommitOffsets([record("b", 2, 0)]), revocations: 0)
        #expect(sent.next == offsets([("a", 0, 10), ("b", 2, 1)]))
        owed.committed(sent)
        #expect(owed.owed(revocations: 0).isEmpty)
    }

    @Test
    func aCommitOfLowerOffsetsLeavesTheHigherOwedOnes() {
        var owed = OwedOffsets()
        owed.failed(CommitOffsets([record("a", 0, 9), record("a", 1, 3)]), at: .now, revocations: 0)
        owed.committed(CommitOffsets([record("a", 0, 5), record("a", 1, 3)]))
        #expect(owed.owed(revocations: 0).next == offsets([("a", 0, 10)]))
    }

    @Test
    func owedOffsetsAreForgottenOnceTheMemberLosesPartitions() {
        var owed = OwedOffsets()
        owed.failed(CommitOffsets([record("a", 0, 9)]), at: .now, revocations: 3)
        #expect(!owed.owed(revocations: 3).isEmpty)
        // A rebalance took partitions away: their next owner reads from the committed offset.
        let batch = CommitOffsets([record("a", 1, 0)])
        #expect(owed.withOwed(batch, revocations: 4) == batch)
        #expect(owed.due(at: nil, revocations: 4) == nil)
        // A failure after the rebalance owes only what it sent.
        owed.failed(batch, at: .now, revocations: 4)
        #expect(owed.owed(revocations: 4) == batch)
    }

    @Test
    func owedOffsetsOfATopicSeenGoneAreForgotten() {
        var owed = OwedOffsets()
        owed.failed(CommitOffsets([record("a", 0, 1_000), record("b", 0, 7)]), at: .now, revocations: 0)
        // "a" came back empty: offset 1,001 there would skip its first thousand records.
        owed.forget(topics: ["a"])
        #expect(owed.owed(revocations: 0).next == offsets([("b", 0, 8)]))
    }

    @Test
    func aPartialFailureOwesOnlyThePartitionsThatFailed() {
        let sent = CommitOffsets([record("a", 0, 4), record("a", 1, 9)])
        let failed = sent.only([TopicPartition(topic: "a", partition: 1)])
        #expect(failed.next == offsets([("a", 1, 10)]))
        #expect(sent.subtracting(failed).next == offsets([("a", 0, 5)]))
    }
}
