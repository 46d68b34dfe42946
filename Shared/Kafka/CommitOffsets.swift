/// A partition of a topic.
struct TopicPartition: Hashable, Sendable {
    var topic: String
    var partition: Int32
}

/// What a consumer commits: for each partition, the offset after the last record it processed.
struct CommitOffsets: Sendable, Equatable {
    private(set) var next: [TopicPartition: Int64] = [:]

    init(_ records: [ConsumedRecord] = []) {
        for record in records {
            raise(TopicPartition(topic: record.topic, partition: record.partition), to: record.offset + 1)
        }
    }

    var isEmpty: Bool { next.isEmpty }

    /// The higher offset of the two for every partition of either.
    func merging(_ other: CommitOffsets) -> CommitOffsets {
        var merged = self
        for (partition, offset) in other.next { merged.raise(partition, to: offset) }
        return merged
    }

    /// Only the offsets of `partitions`.
    func only(_ partitions: Set<TopicPartition>) -> CommitOffsets {
        var kept = CommitOffsets()
        kept.next = next.filter { partitions.contains($0.key) }
        return kept
    }

    /// Without the offsets of `topics`.
    func excluding(topics: Set<String>) -> CommitOffsets {
        var kept = CommitOffsets()
        kept.next = next.filter { !topics.contains($0.key.topic) }
        return kept
    }

    /// What is left of these once `committed` is: the partitions it has no offset for, or a lower one.
    func subtracting(_ committed: CommitOffsets) -> CommitOffsets {
        var left = CommitOffsets()
        left.next = next.filter { partition, offset in (committed.next[partition] ?? -1) < offset }
        return left
    }

    private mutating func raise(_ partition: TopicPartition, to offset: Int64) {
        next[partition] = max(next[partition] ?? offset, offset)
    }
}

/// A commit that failed or went unanswered: `failed` holds the offsets that did not commit.
struct CommitFailure: Error {
    var error: KafkaError
    var failed: CommitOffsets
}

/// Offsets whose commit failed (a broker restarted, the coordinator moved, a request timed out).
/// They are owed: sent again with the next batch's commit, or on their own once the consumer is
/// idle, or else the last batch before a quiet spell would stay uncommitted, to be handled (and
/// dead-lettered) again after the next restart. Owed offsets are forgotten when the member loses
/// any partition (`revocations` moves on): the next owner of a partition reads from the group's
/// committed offset, so nothing is lost, and a late commit from this member could move that
/// offset backwards. Those of a topic seen gone are forgotten too (`forget(topics:)`): in the
/// topic created again they would skip records.
struct OwedOffsets: Sendable {
    private var offsets = CommitOffsets()
    /// The member's revocation count when these became owed.
    private var revocations = 0
    /// When the owed offsets are next committed on their own, and how long the one after waits.
    private var due: ContinuousClock.Instant = .now
    private var retryDelay: Duration = Self.firstRetry

    static let firstRetry = Duration.seconds(1)
    static let longestRetry = Duration.seconds(30)

    /// The offsets owed, given the member's revocation count now.
    func owed(revocations: Int) -> CommitOffsets {
        revocations == self.revocations ? offsets : CommitOffsets()
    }

    /// What a commit of `batch` sends: its offsets and the owed ones.
    func withOwed(_ batch: CommitOffsets, revocations: Int) -> CommitOffsets {
        owed(revocations: revocations).merging(batch)
    }

    /// The owed offsets to commit on their own `now`, if any and if their retry is due then (nil:
    /// whatever the backoff says, as at shutdown).
    func due(at now: ContinuousClock.Instant?, revocations: Int) -> CommitOffsets? {
        let owed = owed(revocations: revocations)
        guard !owed.isEmpty, now.map({ $0 >= due }) ?? true else { return nil }
        return owed
    }

    /// Drops the offsets of `topics`: they point into a topic that disappeared (and may come back
    /// empty, where they would skip records).
    mutating func forget(topics: Set<String>) {
        offsets = offsets.excluding(topics: topics)
    }

    mutating func committed(_ sent: CommitOffsets) {
        offsets = offsets.subtracting(sent)
        retryDelay = Self.firstRetry
    }

    /// `sent` did not commit (`committed`: the partitions of the same commit that did); the retry
    /// waits twice as long as the last one.
    mutating func failed(
        _ sent: CommitOffsets, at now: ContinuousClock.Instant, revocations: Int,
        committed: CommitOffsets = CommitOffsets()
    ) {
        offsets = owed(revocations: revocations).subtracting(committed).merging(sent)
        self.revocations = revocations
        due = now + retryDelay
        retryDelay = min(retryDelay * 2, Self.longestRetry)
    }
}
