import Contracts
import Foundation
import Kafka
import Liveness
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Publishes outbox rows in id order and deletes them once the broker acknowledged them; rows held
/// until an instant (`Outbox.hold`) join them at that instant.
///
/// One relay publishes at a time per schema (a transaction-scoped advisory lock), which keeps the
/// per-key order of the outbox on the topics even with several replicas running. A crash between
/// the broker's acknowledgement and the delete republishes those rows: consumers dedupe by the
/// event's `id`, so delivery is at-least-once with stable ids.
public final class OutboxRelay: Service, Sendable {
    private let client: PostgresClient
    private let producer: KafkaProducer
    private let schema: String
    private let batchSize: Int
    private let idleInterval: Duration
    private let idleCeiling: Duration
    private let logger: Logger
    private let wakeups = Wakeups()
    /// Held rows come due before the next unprompted run would find them: poll at `idleInterval`.
    private let heldComingDue = Atomic<Bool>(false)
    private let progress: LoopProgress
    private let published: Counter
    private let lag: Timer
    private let batchDuration: Timer
    private let oldestUnpublished: Gauge

    public init(
        client: PostgresClient, producer: KafkaProducer, schema: String, batchSize: Int = 2_000,
        idleInterval: Duration = .milliseconds(250), idleCeiling: Duration = .seconds(2), logger: Logger
    ) {
        self.client = client
        self.producer = producer
        self.schema = schema
        self.batchSize = batchSize
        self.idleInterval = idleInterval
        self.idleCeiling = idleCeiling
        self.logger = logger
        progress = LoopMonitor.shared.register("outbox relay \(schema)")
        published = Counter(label: "engage_outbox_published_total")
        lag = Timer(label: "engage_outbox_publish_lag_seconds", preferredDisplayUnit: .seconds)
        batchDuration = Timer(label: "engage_outbox_batch_seconds", preferredDisplayUnit: .seconds)
        oldestUnpublished = Gauge(label: "engage_outbox_oldest_unpublished_seconds")
        Self.live.withLock { relays in
            relays.removeAll { $0.relay == nil }
            relays.append(WeakRelay(relay: self))
        }
    }

    /// Tells the relay that rows were just committed, so it need not wait for its next tick.
    public func wake() {
        wakeups.wake()
    }

    /// The relays of this process (weakly): a transaction that wrote outbox rows wakes them once it
    /// commits (`PostgresClient.transaction`), whoever wrote the rows.
    private static let live = Mutex<[WeakRelay]>([])
    private struct WeakRelay: Sendable { weak var relay: OutboxRelay? }

    static func wakeAll() {
        for relay in live.withLock({ $0.compactMap(\.relay) }) { relay.wake() }
    }

    public func run() async throws {
        // Rows this process commits wake the relay at once; the unprompted runs only catch rows
        // nobody announced (a crash between commit and publish), so an idle relay backs off.
        await wakeups.run(every: idleInterval, idleUpTo: idleCeiling) { await self.drain() }
        _ = await drain()
        logger.info("outbox relay stopped")
    }

    /// Publishes until the outbox is empty; says whether to look again soon: it published rows,
    /// another relay holds the schema's lock (and may have started before this process's rows
    /// were committed), held rows come due before the next unprompted run, or it failed. A
    /// failure (database or broker away) leaves the rows for the next run; the loop counts as
    /// stalled if that lasts (see `LoopProgress`).
    private func drain() async -> Bool {
        progress.busy()
        var published = false
        while true {
            do {
                guard let count = try await publishNext() else {
                    progress.idle()
                    return true
                }
                published = published || count > 0
                if count < batchSize {
                    progress.idle()
                    return published || heldComingDue.load(ordering: .relaxed)
                }
                progress.progressed()
            } catch {
                progress.failed(String(describing: error))
                logger.error("outbox publish failed", metadata: ["error": "\(String(reflecting: error))"])
                return true
            }
        }
    }

    /// Larger than any broker accepts by default (`message.max.bytes`, 1 MB): such a row could
    /// never be published and would hold back every row after it.
    static let maxRecordBytes = 1_000_000 - 10_000

    /// What is published in place of a row too large to publish: a dead letter on `<topic>.dlq` that
    /// keeps its prefix and says why, so that the outbox moves on. The whole row is kept in
    /// `outbox_unpublishable` (see `publishBatch`).
    func deadLetter(forTooLarge record: OutgoingRecord, outboxId: Int64) -> OutgoingRecord {
        let size = record.value.count + (record.key?.count ?? 0)
        logger.error(
            "outbox row too large to publish; dead-lettered and set aside in outbox_unpublishable",
            metadata: [
                "topic": "\(record.topic)", "outbox_id": "\(outboxId)", "bytes": "\(size)",
            ])
        let original = ConsumedRecord(
            topic: record.topic, partition: -1, offset: outboxId, key: record.key, value: record.value,
            headers: Dictionary(record.headers, uniquingKeysWith: { _, last in last }), timestampMs: nil)
        return DeadLetterRecord.make(
            RecordFailure(
                record: original,
                reason: "outbox row \(outboxId) of schema \(schema) is \(size) bytes, more than a broker "
                    + "accepts; the whole row is kept in \(schema).outbox_unpublishable"),
            consumerGroup: "outbox relay \(schema)")
    }

    static func isTooLarge(_ record: OutgoingRecord) -> Bool {
        record.value.count + (record.key?.count ?? 0) > maxRecordBytes
    }

    /// Publishes up to `batchSize` rows; returns how many.
    public func publishBatch() async throws -> Int {
        try await publishNext() ?? 0
    }

    /// Publishes up to `batchSize` rows; returns how many, or nil when another relay holds the lock.
    func publishNext() async throws -> Int? {
        let started = ContinuousClock.now
        defer { batchDuration.recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1))) }
        let now = Date()
        return try await client.transaction(logger: self.logger) { connection -> Int? in
            let lockKey = "engage-outbox:" + self.schema
            let lockRows = try await connection.query(
                "SELECT pg_try_advisory_xact_lock(hashtextextended(\(lockKey), 0))", logger: self.logger)
            var locked = false
            for try await value in lockRows.decode(Bool.self) { locked = value }
            guard locked else { return nil }

            let written = try await self.rows(
                """
                SELECT id, topic, key, payload, headers::text, created_at FROM outbox ORDER BY id LIMIT \(self.batchSize)
                """, held: false, on: connection)
            // Held rows due by now, and whether more come due before the next unprompted run.
            let soon = now.addingTimeInterval(self.idleCeiling.inSeconds)
            let held = try await self.rows(
                """
                SELECT id, topic, key, payload, headers::text, release_at FROM outbox_held
                WHERE release_at <= \(soon) ORDER BY release_at, id LIMIT \(self.batchSize)
                """, held: true, on: connection)
            let due = held.prefix { $0.at <= now }
            self.heldComingDue.store(due.count < held.count, ordering: .relaxed)
            let batch = Self.merge(written, Array(due), limit: self.batchSize)
            // The backlog an operator watches: how long the oldest row has waited (0: none waits).
            let oldest = batch.map(\.at).min()
            self.oldestUnpublished.record(oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0)
            guard !batch.isEmpty else { return 0 }

            var tooLarge: [Row] = []
            let records = batch.map { row in
                guard Self.isTooLarge(row.record) else { return row.record }
                tooLarge.append(row)
                return self.deadLetter(forTooLarge: row.record, outboxId: row.id)
            }
            try await self.producer.send(records)
            for (held, table) in [(false, "outbox"), (true, "outbox_held")] {
                let large = tooLarge.filter { $0.held == held }.map(\.id)
                if !large.isEmpty {
                    try await connection.query(
                        """
                        INSERT INTO outbox_unpublishable (id, topic, key, payload, headers, created_at, reason)
                        SELECT id, topic, key, payload, headers, created_at, 'larger than a broker accepts'
                        FROM \(unescaped: table) WHERE id = ANY(\(large)) ON CONFLICT (id) DO NOTHING
                        """, logger: self.logger)
                }
                let ids = batch.filter { $0.held == held }.map(\.id)
                if !ids.isEmpty {
                    try await connection.query(
                        "DELETE FROM \(unescaped: table) WHERE id = ANY(\(ids))", logger: self.logger)
                }
            }
            self.published.increment(by: batch.count)
            if let oldest { self.lag.recordSeconds(max(0, Date().timeIntervalSince(oldest))) }
            return batch.count
        }
    }

    /// A row to publish: from the outbox (`at`: when it was written) or held until `at`.
    struct Row: Sendable {
        var id: Int64
        var held: Bool
        var at: Date
        var record: OutgoingRecord
    }

    private func rows(_ query: PostgresQuery, held: Bool, on connection: PostgresConnection) async throws -> [Row] {
        var rows: [Row] = []
        for try await (id, topic, key, payload, headersJSON, at) in try await connection.query(query, logger: logger)
            .decode((Int64, String, String?, String, String, Date).self)
        {
            let headers = ((try? JSONParser.parse(headersJSON.utf8))?.objectValue ?? [:]).compactMapValues(
                \.stringValue)
            let record = OutgoingRecord(
                topic: topic, key: key, value: Array(payload.utf8),
                headers: headers.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) })
            rows.append(Row(id: id, held: held, at: at, record: record))
        }
        return rows
    }

    /// Outbox rows (in id order) and due held rows (in instant order), interleaved by time: a held
    /// row goes after the rows written before its instant and before those written after it, so
    /// per-key order is that of the instants at which the rows became visible.
    static func merge(_ written: [Row], _ held: [Row], limit: Int) -> [Row] {
        var merged: [Row] = []
        merged.reserveCapacity(min(limit, written.count + held.count))
        var (w, h) = (0, 0)
        while merged.count < limit, w < written.count || h < held.count {
            if h == held.count || (w < written.count && written[w].at <= held[h].at) {
                merged.append(written[w])
                w += 1
            } else {
                merged.append(held[h])
                h += 1
            }
        }
        return merged
    }
}
