import Contracts
import Foundation
import Kafka
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Testing

@testable import Persistence

@Suite(.serialized, .enabled(if: TestEnvironment.available, "needs ENGAGE_TEST_* from deploy/dev/test.sh"))
struct PersistenceTests {
    let logger = TestEnvironment.logger

    @Test(.timeLimit(.minutes(1)))
    func migrationsApplyOnceEvenWhenInstancesStartTogether() async throws {
        try await TestEnvironment.withDatabase { client, schema in
            let migrations = [
                Migration(
                    version: 10, name: "widgets",
                    statements: [
                        "CREATE TABLE widgets (id integer PRIMARY KEY)", "INSERT INTO widgets VALUES (1)",
                    ])
            ]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        try await Migrator.migrate(
                            Migrator.platform + migrations, schema: schema, client: client, logger: logger)
                    }
                }
                try await group.waitForAll()
            }
            try await Migrator.migrate(Migrator.platform + migrations, schema: schema, client: client, logger: logger)
            var versions: [Int] = []
            for try await version in try await client.query(
                "SELECT version FROM \(unescaped: schema).schema_migrations ORDER BY version"
            ).decode(Int.self) {
                versions.append(version)
            }
            #expect(versions == Migrator.platform.map(\.version) + [10])
            var widgets = 0
            for try await count in try await client.query("SELECT count(*)::int FROM \(unescaped: schema).widgets")
                .decode(Int.self)
            { widgets = count }
            #expect(widgets == 1)
        }
    }

    /// A migrated platform schema and a producer with `topics` created, for the outbox's tests.
    func withOutboxSchema(
        topics: [String], _ body: @Sendable (PostgresClient, String, KafkaProducer) async throws -> Void
    ) async throws {
        try await TestEnvironment.withDatabase { client, schema in
            try await Migrator.migrate(Migrator.platform, schema: schema, client: client, logger: logger)
            let producer = try KafkaProducer(config: TestEnvironment.kafka(), logger: logger)
            try await producer.createTopics(topics)
            do {
                try await body(client, schema, producer)
            } catch {
                await producer.shutdown()
                throw error
            }
            await producer.shutdown()
        }
    }

    /// A relay running whose own runs are a minute apart: what `body` sees published in time was
    /// published because a commit woke the relay, not because it polled.
    func withRelayRunsAMinuteApart(
        topic: String, _ body: @escaping @Sendable (PostgresClient) async throws -> Void
    ) async throws {
        try await withOutboxSchema(topics: [topic]) { client, schema, producer in
            let relay = OutboxRelay(
                client: client, producer: producer, schema: schema, idleInterval: .seconds(60),
                idleCeiling: .seconds(60), logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await relay.run() }
                try await body(client)
                group.cancelAll()
            }
        }
    }

    /// The payloads of the rows left in one of the outbox's tables, in id order.
    func payloads(in table: String, _ client: PostgresClient) async throws -> [String] {
        var payloads: [String] = []
        for try await payload in try await client.query(
            PostgresQuery(unsafeSQL: "SELECT payload FROM \(table) ORDER BY id"), logger: logger
        ).decode(String.self) {
            payloads.append(payload)
        }
        return payloads
    }

    @Test(.timeLimit(.minutes(2)))
    func outboxPublishesCommittedRowsInOrderAndNothingFromARollback() async throws {
        let topic = TestEnvironment.uniqueName("test.outbox.")
        try await withOutboxSchema(topics: [topic]) { client, schema, producer in
            try await client.withTransaction(logger: logger) { connection in
                try await Outbox.enqueue(
                    (0..<3).map {
                        OutboxMessage(topic: topic, key: "p1", payload: "{\"n\":\($0)}", headers: ["contract": "t/1"])
                    },
                    on: connection, logger: logger)
            }
            struct Abort: Error {}
            await #expect(throws: PostgresTransactionError.self) {
                try await client.withTransaction(logger: logger) { connection in
                    try await Outbox.enqueue(
                        [OutboxMessage(topic: topic, key: "p1", payload: "{\"n\":99}")], on: connection, logger: logger)
                    throw Abort()
                }
            }
            let relay = OutboxRelay(client: client, producer: producer, schema: schema, logger: logger)
            let published = try await relay.publishBatch()
            #expect(published == 3)
            let records = try await TestEnvironment.consume(topic, count: 3)
            #expect(
                records.map { String(decoding: $0.value ?? [], as: UTF8.self) } == [
                    "{\"n\":0}", "{\"n\":1}", "{\"n\":2}",
                ])
            #expect(records.allSatisfy { $0.headers["contract"] == "t/1" && $0.keyString == "p1" })
            let left = try await relay.publishBatch()
            #expect(left == 0)
        }
    }

    /// One relay transaction publishes batch after batch (each read while the one before is in
    /// flight): every row once, in order, held rows of one instant across batch boundaries too.
    @Test(.timeLimit(.minutes(2)))
    func oneTransactionPublishesBatchAfterBatchEachRowOnceInOrder() async throws {
        let topic = TestEnvironment.uniqueName("test.outbox.batches.")
        try await withOutboxSchema(topics: [topic]) { client, schema, producer in
            @Sendable func message(_ n: Int) -> OutboxMessage {
                OutboxMessage(topic: topic, key: "p1", payload: "{\"n\":\(n)}")
            }
            let instant = Date().addingTimeInterval(-30)
            try await client.transaction(logger: logger) { connection in
                // Ten held rows of one instant, read four at a time: the cursor must not skip or repeat.
                try await Outbox.hold((0..<10).map(message), until: instant, on: connection, logger: logger)
            }
            for chunk in stride(from: 10, to: 33, by: 8) {
                try await client.transaction(logger: logger) { connection in
                    try await Outbox.enqueue(
                        (chunk..<min(chunk + 8, 33)).map(message), on: connection, logger: logger)
                }
            }
            let relay = OutboxRelay(
                client: client, producer: producer, schema: schema, batchSize: 4, transactionSpan: .seconds(60),
                logger: logger)
            #expect(try await relay.publishBatch() == 33)
            let records = try await TestEnvironment.consume(topic, count: 33)
            #expect(records.map { String(decoding: $0.value ?? [], as: UTF8.self) } == (0..<33).map { "{\"n\":\($0)}" })
            #expect(try await relay.publishBatch() == 0)
            for table in ["outbox", "outbox_held"] {
                let left = try await client.withConnection { connection in
                    var count = -1
                    for try await value in try await connection.query(
                        PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM \(schema).\(table)"), logger: logger
                    ).decode(Int.self) { count = value }
                    return count
                }
                #expect(left == 0, "\(table)")
            }
        }
    }

    /// A batch the broker refuses ends the relay's transaction, but the batches acknowledged before
    /// it in the same transaction stay published: their rows are deleted, not republished.
    @Test(.timeLimit(.minutes(2)))
    func aRefusedBatchKeepsTheBatchesAcknowledgedBeforeIt() async throws {
        let topic = TestEnvironment.uniqueName("test.outbox.refused.")
        try await withOutboxSchema(topics: [topic]) { client, schema, producer in
            try await client.transaction(logger: logger) { connection in
                try await Outbox.enqueue(
                    (0..<4).map { OutboxMessage(topic: topic, key: "p1", payload: "{\"n\":\($0)}") },
                    on: connection, logger: logger)
            }
            // The broker refuses the second batch.
            struct Refused: Error {}
            let batches = Mutex(0)
            let relay = OutboxRelay(
                client: client,
                send: { records in
                    guard
                        batches.withLock({
                            $0 += 1
                            return $0
                        }) != 2
                    else { throw Refused() }
                    try await producer.send(records)
                }, schema: schema, batchSize: 2, logger: logger)
            await #expect(throws: Refused.self) { try await relay.publishBatch() }
            let records = try await TestEnvironment.consume(topic, count: 2)
            #expect(records.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["{\"n\":0}", "{\"n\":1}"])
            let left = try await payloads(in: "outbox", client)
            #expect(left == ["{\"n\":2}", "{\"n\":3}"])
            // The next transaction publishes them.
            #expect(try await relay.publishBatch() == 2)
            let all = try await TestEnvironment.consume(topic, count: 4)
            #expect(all.map { String(decoding: $0.value ?? [], as: UTF8.self) } == (0..<4).map { "{\"n\":\($0)}" })
        }
    }

    /// Batches without a key in common are on their way to the broker together; batches that
    /// share one are sent one after the other, so that per-key order holds whatever is refused.
    @Test(.timeLimit(.minutes(2)))
    func onlyBatchesWithoutACommonKeyAreInFlightTogether() async throws {
        let topic = TestEnvironment.uniqueName("test.outbox.inflight.")
        try await withOutboxSchema(topics: [topic]) { client, schema, producer in
            for keys in [(0..<8).map { "p\($0)" }, Array(repeating: "p1", count: 8)] {
                try await client.transaction(logger: logger) { connection in
                    try await Outbox.enqueue(
                        keys.enumerated().map { OutboxMessage(topic: topic, key: $1, payload: "{\"n\":\($0)}") },
                        on: connection, logger: logger)
                }
                let sending = Mutex((now: 0, most: 0))
                let relay = OutboxRelay(
                    client: client,
                    send: { records in
                        sending.withLock {
                            $0.now += 1
                            $0.most = max($0.most, $0.now)
                        }
                        // Each send waits for the others that may go with it (a second at most).
                        let deadline = ContinuousClock.now + .seconds(1)
                        while sending.withLock({ $0.most }) < 4, ContinuousClock.now < deadline {
                            try await Task.sleep(for: .milliseconds(10))
                        }
                        sending.withLock { $0.now -= 1 }
                        try await producer.send(records)
                    }, schema: schema, batchSize: 2, transactionSpan: .seconds(60), batchesInFlight: 4, logger: logger)
                #expect(try await relay.publishBatch() == 8)
                #expect(sending.withLock { $0.most } == (Set(keys).count == 1 ? 1 : 4), "\(keys)")
            }
            let records = try await TestEnvironment.consume(topic, count: 16)
            let same = records.filter { $0.keyString == "p1" }
            // p1's records in outbox order: its first one, then the eight of the second round.
            #expect(
                same.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["{\"n\":1}"]
                    + (0..<8).map { "{\"n\":\($0)}" })
        }
    }

    /// A refused batch among batches in flight together leaves its own rows, and only those, for
    /// the next transaction: the others were acknowledged and are deleted.
    @Test(.timeLimit(.minutes(2)))
    func aRefusedBatchAmongThoseInFlightKeepsOnlyItsOwnRows() async throws {
        let topic = TestEnvironment.uniqueName("test.outbox.refusedamong.")
        try await withOutboxSchema(topics: [topic]) { client, schema, producer in
            try await client.transaction(logger: logger) { connection in
                try await Outbox.enqueue(
                    (0..<8).map { OutboxMessage(topic: topic, key: "p\($0)", payload: "{\"n\":\($0)}") },
                    on: connection, logger: logger)
            }
            struct Refused: Error {}
            let batches = Mutex(0)
            let relay = OutboxRelay(
                client: client,
                send: { records in
                    let number = batches.withLock {
                        $0 += 1
                        return $0
                    }
                    guard number == 2 else { return try await producer.send(records) }
                    // Refused once the batches after it are on their way too.
                    let deadline = ContinuousClock.now + .seconds(10)
                    while batches.withLock({ $0 }) < 4, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    throw Refused()
                }, schema: schema, batchSize: 2, transactionSpan: .seconds(60), batchesInFlight: 4, logger: logger)
            await #expect(throws: Refused.self) { try await relay.publishBatch() }
            let records = try await TestEnvironment.consume(topic, count: 6)
            #expect(
                Set(records.map { String(decoding: $0.value ?? [], as: UTF8.self) })
                    == Set([0, 1, 4, 5, 6, 7].map { "{\"n\":\($0)}" }))
            let left = try await payloads(in: "outbox", client)
            #expect(left == ["{\"n\":2}", "{\"n\":3}"])
        }
    }

    /// Rows held until an instant are published from it on, among the outbox's rows by time; rows
    /// held for later stay.
    @Test(.timeLimit(.minutes(2)))
    func heldRowsArePublishedFromTheirInstantAmongTheOutboxRowsByTime() async throws {
        let topic = TestEnvironment.uniqueName("test.outbox.held.")
        try await withOutboxSchema(topics: [topic]) { client, schema, producer in
            @Sendable func message(_ n: Int) -> OutboxMessage {
                OutboxMessage(topic: topic, key: "p1", payload: "{\"n\":\(n)}")
            }
            try await client.transaction(logger: logger) { connection in
                try await Outbox.hold(
                    [message(9)], until: Date().addingTimeInterval(3_600), on: connection, logger: logger)
                try await Outbox.hold(
                    [message(2)], until: Date().addingTimeInterval(-5), on: connection, logger: logger)
                try await Outbox.enqueue([message(1), message(3)], on: connection, logger: logger)
                try await connection.query(
                    """
                    UPDATE outbox SET created_at = now() - CASE payload WHEN '{"n":1}' THEN interval '10 s' ELSE interval '1 s' END
                    """, logger: logger)
            }
            let relay = OutboxRelay(client: client, producer: producer, schema: schema, logger: logger)
            #expect(try await relay.publishBatch() == 3)
            let records = try await TestEnvironment.consume(topic, count: 3)
            #expect(
                records.map { String(decoding: $0.value ?? [], as: UTF8.self) } == [
                    "{\"n\":1}", "{\"n\":2}", "{\"n\":3}",
                ])
            #expect(try await relay.publishBatch() == 0)
            let left = try await payloads(in: "outbox_held", client)
            #expect(left == ["{\"n\":9}"])
        }
    }

    /// Held rows mark the transaction that writes them, as outbox rows do: its commit wakes the
    /// relays, which then sleep until the rows come due.
    @Test(.timeLimit(.minutes(1)))
    func holdingRowsMarksTheTransactionToWakeTheRelays() async throws {
        try await TestEnvironment.withDatabase { client, schema in
            try await Migrator.migrate(Migrator.platform, schema: schema, client: client, logger: logger)
            let written = Outbox.Written()
            try await Outbox.$written.withValue(written) {
                try await client.withConnection { connection in
                    try await Outbox.hold(
                        [OutboxMessage(topic: "t", key: "p1", payload: "{}")], until: Date().addingTimeInterval(1),
                        on: connection, logger: logger)
                }
            }
            let marked = written.rows.load(ordering: .relaxed)
            #expect(marked)
        }
    }

    /// The relay's own runs are a minute apart here: the row is published because the transaction
    /// that wrote it woke the relay when it committed, with no wake by the writer.
    @Test(.timeLimit(.minutes(2)))
    func aCommittedOutboxRowWakesTheRelay() async throws {
        let topic = TestEnvironment.uniqueName("test.outbox.wake.")
        try await withRelayRunsAMinuteApart(topic: topic) { client in
            let started = ContinuousClock.now
            try await client.transaction(logger: logger) { connection in
                try await Outbox.enqueue(
                    [OutboxMessage(topic: topic, key: "p1", payload: "{\"n\":1}")], on: connection, logger: logger)
            }
            let records = try await TestEnvironment.consume(topic, count: 1, timeout: .seconds(20))
            #expect(records.count == 1)
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }

    /// The relay's own runs are a minute apart here too: a held row is published at its instant
    /// because the run woken by its commit saw when it comes due and slept until then.
    @Test(.timeLimit(.minutes(2)))
    func aHeldRowIsPublishedAtItsInstantWithoutPolling() async throws {
        let topic = TestEnvironment.uniqueName("test.outbox.held-alarm.")
        try await withRelayRunsAMinuteApart(topic: topic) { client in
            let instant = Date().addingTimeInterval(1.5)
            try await client.transaction(logger: logger) { connection in
                try await Outbox.hold(
                    [OutboxMessage(topic: topic, key: "p1", payload: "{\"n\":1}")], until: instant,
                    on: connection, logger: logger)
            }
            let records = try await TestEnvironment.consume(topic, count: 1, timeout: .seconds(30))
            #expect(records.count == 1)
            let arrived = Date()
            #expect(arrived >= instant)
            #expect(arrived.timeIntervalSince(instant) < 10, "\(arrived.timeIntervalSince(instant)) s late")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func anOutboxRowTooLargeToPublishIsDeadLetteredAndTheRowsAfterItArePublished() async throws {
        let topic = TestEnvironment.uniqueName("test.outbox.large.")
        try await withOutboxSchema(topics: [topic, Topic.deadLetter(of: topic)]) { client, schema, producer in
            let large = "{\"blob\":\"" + String(repeating: "x", count: 1_200_000) + "\"}"
            try await client.transaction(logger: logger) { connection in
                try await Outbox.enqueue(
                    [
                        OutboxMessage(topic: topic, key: "p1", payload: "{\"n\":0}"),
                        OutboxMessage(topic: topic, key: "p1", payload: large),
                        OutboxMessage(topic: topic, key: "p1", payload: "{\"n\":2}"),
                    ], on: connection, logger: logger)
            }
            let relay = OutboxRelay(client: client, producer: producer, schema: schema, logger: logger)
            #expect(try await relay.publishBatch() == 3)
            let records = try await TestEnvironment.consume(topic, count: 2)
            #expect(records.map { String(decoding: $0.value ?? [], as: UTF8.self) } == ["{\"n\":0}", "{\"n\":2}"])
            let letters = try await TestEnvironment.consume(Topic.deadLetter(of: topic), count: 1)
            let letter = try WireDecoder.decode(DeadLetter.self, from: letters.first?.value ?? [])
            #expect(letter.truncated == true)
            #expect(letter.originalSize == large.utf8.count)
            #expect(letter.reason.contains("more than a broker accepts"))
            #expect(letter.reason.contains("outbox_unpublishable"))
            // The dead letter carries a prefix only: the whole row is kept for an operator.
            let kept = try await client.withConnection { connection in
                var kept: [String] = []
                for try await payload in try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT payload FROM \(schema).outbox_unpublishable"), logger: logger
                ).decode(String.self) { kept.append(payload) }
                return kept
            }
            #expect(kept == [large])
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func inboxClaimsAMessageIdOnce() async throws {
        try await TestEnvironment.withDatabase { client, schema in
            try await Migrator.migrate(Migrator.platform, schema: schema, client: client, logger: logger)
            let results = try await client.withConnection { connection in
                let first = try await Inbox.claim(consumer: "c", messageId: "m1", on: connection, logger: logger)
                let again = try await Inbox.claim(consumer: "c", messageId: "m1", on: connection, logger: logger)
                let other = try await Inbox.claim(consumer: "d", messageId: "m1", on: connection, logger: logger)
                return [first, again, other]
            }
            #expect(results == [true, false, true])
        }
    }
}
