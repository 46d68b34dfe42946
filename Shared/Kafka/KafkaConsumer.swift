import Logging
import Synchronization

/// A consumer-group member. Offsets move only when `commit` is called, after processing.
///
/// While it polls, it checks every `topicCheckInterval` that its topics still exist. A topic that
/// disappears and comes back (see `RecreatedTopics`) is read again from its beginning.
public final class KafkaConsumer: Sendable {
    let client: RdKafkaClient
    public let groupId: String
    private let topics: [String]
    private let logger: Logger
    private let topicCheckInterval: Duration
    private struct TopicCheck {
        var due = ContinuousClock.now
        var topics = RecreatedTopics()
        /// Recreated topics whose seek to the beginning failed: tried again next round.
        var retry: Set<String> = []
        var assignment = AssignmentWithoutTopics()
    }
    private let topicCheck = Mutex(TopicCheck())
    private let owed = Mutex(OwedOffsets())

    public init(
        config: KafkaConfig, groupId: String, topics: [String], topicCheckInterval: Duration = .seconds(2),
        logger: Logger
    ) throws {
        self.groupId = groupId
        self.topics = topics
        self.topicCheckInterval = topicCheckInterval
        var logger = logger
        logger[metadataKey: "group"] = "\(groupId)"
        self.logger = logger
        client = try RdKafkaClient(
            kind: .consumer, properties: config.consumerProperties(groupId: groupId), logger: logger)
        try client.subscribe(topics)
    }

    /// Waits up to `timeout` for records and returns what arrived (possibly none). A record ends the
    /// wait at once; the timeout only bounds an idle wait (and how soon a stop is noticed), so it
    /// is long enough that an idle consumer wakes twice a second, not ten times.
    public func poll(maxRecords: Int, timeout: Duration = .milliseconds(500)) async throws -> [ConsumedRecord] {
        await startOverIfTopicsRecreated()
        let milliseconds = Int32(timeout / .milliseconds(1))
        let records = try await client.blocking { [client] in
            client.consumeBatch(maxRecords: maxRecords, timeoutMs: milliseconds)
        }
        // After the wait, which serves any rebalance: a revocation drops what is owed first.
        if records.isEmpty { await commitOwedOffsetsIfDue(timeoutMs: Self.commitTimeoutMs) }
        return records
    }

    /// How long a commit waits for the coordinator's answer before its offsets are owed instead.
    static let commitTimeoutMs: Int32 = 5_000

    /// Commits the offsets after these records, with any offsets owed from an earlier commit that
    /// failed (see `OwedOffsets`), and waits for the answer (at most `commitTimeoutMs`). The offsets
    /// that fail, or go unanswered, are owed in turn.
    public func commit(_ records: [ConsumedRecord]) async throws {
        let revocations = client.revocations
        try await send(
            owed.withLock { $0.withOwed(CommitOffsets(records), revocations: revocations) },
            timeoutMs: Self.commitTimeoutMs)
    }

    private func send(_ offsets: CommitOffsets, timeoutMs: Int32) async throws {
        let revocations = client.revocations
        do {
            try await client.blocking { [client] in try client.commit(offsets, timeoutMs: timeoutMs) }
            owed.withLock { $0.committed(offsets) }
        } catch let failure as CommitFailure {
            owed.withLock {
                $0.failed(
                    failure.failed, at: .now, revocations: revocations,
                    committed: offsets.subtracting(failure.failed))
            }
            throw failure.error
        } catch {
            owed.withLock { $0.failed(offsets, at: .now, revocations: revocations) }
            throw error
        }
    }

    /// Between polls: commits on their own, with backoff, the offsets a failed commit left owed,
    /// since no further batch may come to carry them.
    private func commitOwedOffsetsIfDue(timeoutMs: Int32, whateverTheBackoff: Bool = false) async {
        let revocations = client.revocations
        guard
            let offsets = owed.withLock({
                $0.due(at: whateverTheBackoff ? nil : .now, revocations: revocations)
            })
        else { return }
        do {
            try await send(offsets, timeoutMs: timeoutMs)
            logger.info("owed offsets committed", metadata: ["partitions": "\(offsets.next.count)"])
        } catch {
            logger.warning("owed offsets not committed yet; trying again", metadata: ["error": "\(error)"])
        }
    }

    /// A broker answered a metadata request within `timeoutMs`.
    public func isBrokerReachable(timeoutMs: Int32 = 1_000) async -> Bool {
        (try? await client.blocking { [client] in client.brokerReachable(timeoutMs: timeoutMs) }) ?? false
    }

    /// Leaves the group, after one last try at any offsets still owed; call once, after the last commit.
    public func close() async {
        await commitOwedOffsetsIfDue(timeoutMs: 2_000, whateverTheBackoff: true)
        _ = try? await client.blocking { [client] in client.closeConsumer() }
    }

    /// Runs between polls, on the handle's own queue, so no batch of the old topic is in flight.
    /// The same handle stays in the group: a new one would have to wait for the group to let the
    /// old member go (a rebalance timeout on some brokers) before it got any partition.
    private func startOverIfTopicsRecreated() async {
        let due = topicCheck.withLock { check in
            guard ContinuousClock.now >= check.due else { return false }
            check.due = .now + topicCheckInterval
            return true
        }
        guard due else { return }
        // An unreachable broker says nothing about the topics: they are checked again next round.
        guard let existing = try? await client.blocking({ [client] in try client.topicNames(timeoutMs: 1_000) }) else {
            return
        }
        let lastAssignment = client.lastAssignment
        let (recreated, retry, gone, rejoin) = topicCheck.withLock { check in
            let recreated = check.topics.observe(existing: existing, subscribed: topics)
            let rejoin = check.assignment.observe(
                allPresent: topics.allSatisfy(existing.contains), at: .now, lastAssignment: lastAssignment,
                margin: topicCheckInterval * 2)
            return (recreated, check.retry, Set(topics.filter { check.topics.isGone($0) }), rejoin)
        }
        if !gone.isEmpty || !recreated.isEmpty { owed.withLock { $0.forget(topics: gone.union(recreated)) } }
        if !recreated.isEmpty {
            logger.warning(
                "topics were created again (the broker lost them); reading them from the beginning",
                metadata: ["topics": "\(recreated.sorted().joined(separator: ","))"])
        }
        let pending = recreated.union(retry)
        if rejoin {
            logger.warning("the group's last assignment was made while subscribed topics were missing; joining again")
            // The next assignment reads the recreated topics from their beginning.
            if (try? await client.blocking({ [client, topics] in try client.rejoin(topics, startingOver: pending) }))
                == true
            {
                topicCheck.withLock { $0.retry = [] }
                return
            }
        }
        guard !pending.isEmpty else { return }
        let failed = (try? await client.blocking { [client] in client.startOver(pending) }) ?? pending
        topicCheck.withLock { $0.retry = failed }
    }

    /// Whether the consumer's checks have seen `topic` gone (and not yet back).
    func hasSeenGone(_ topic: String) -> Bool { topicCheck.withLock { $0.topics.isGone(topic) } }

    /// Batches as an AsyncSequence: each `next()` waits for at least one record and ends when the
    /// task is cancelled. Commit each batch yourself after processing it.
    public func batches(maxRecords: Int) -> Batches { Batches(consumer: self, maxRecords: maxRecords) }

    public struct Batches: AsyncSequence, Sendable {
        let consumer: KafkaConsumer
        let maxRecords: Int

        public struct AsyncIterator: AsyncIteratorProtocol {
            let consumer: KafkaConsumer
            let maxRecords: Int

            public mutating func next() async throws -> [ConsumedRecord]? {
                while !Task.isCancelled {
                    let records = try await consumer.poll(maxRecords: maxRecords)
                    if !records.isEmpty { return records }
                }
                return nil
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer, maxRecords: maxRecords) }
    }
}
