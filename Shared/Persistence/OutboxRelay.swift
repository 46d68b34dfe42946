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
    /// Publishes a batch: the producer's `send`, or in tests a stand-in that refuses some.
    private let send: @Sendable ([OutgoingRecord]) async throws -> Void
    private let schema: String
    private let batchSize: Int
    private let idleInterval: Duration
    private let idleCeiling: Duration
    /// How long one transaction keeps publishing batches (see `publishNext`).
    private let transactionSpan: Duration
    /// How many batches may be on their way to the broker at once (see `publishNext`).
    private let batchesInFlight: Int
    private let logger: Logger
    private let wakeups = Wakeups()
    /// The earliest held row read but not yet due: the relay sleeps until it (`NextRun.dueIn`).
    private let nextHeld = Mutex<Date?>(nil)
    private let progress: LoopProgress
    private let published: Counter
    private let lag: Timer
    private let batchDuration: Timer
    private let oldestUnpublished: Gauge

    public convenience init(
        client: PostgresClient, producer: KafkaProducer, schema: String, batchSize: Int = 2_000,
        idleInterval: Duration = .milliseconds(250), idleCeiling: Duration = .seconds(5),
        transactionSpan: Duration = .milliseconds(500), batchesInFlight: Int = 4, logger: Logger
    ) {
        self.init(
            client: client, send: { try await producer.send($0) }, schema: schema,
            batchSize: batchSize, idleInterval: idleInterval, idleCeiling: idleCeiling,
            transactionSpan: transactionSpan, batchesInFlight: batchesInFlight, logger: logger)
    }

    init(
        client: PostgresClient, send: @escaping @Sendable ([OutgoingRecord]) async throws -> Void, schema: String,
        batchSize: Int = 2_000, idleInterval: Duration = .milliseconds(250),
        idleCeiling: Duration = .seconds(5), transactionSpan: Duration = .milliseconds(500),
        batchesInFlight: Int = 4, logger: Logger
    ) {
        self.client = client
        self.send = send
        self.schema = schema
        self.batchSize = batchSize
        self.idleInterval = idleInterval
        self.idleCeiling = idleCeiling
        self.transactionSpan = transactionSpan
        self.batchesInFlight = max(1, batchesInFlight)
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
        // nobody announced (a crash between commit and publish), so an idle relay backs off. Held
        // rows are not polled for: the relay sleeps until the next one is due.
        await wakeups.run(every: idleInterval, idleUpTo: idleCeiling) { await self.drain() }
        _ = await drain()
        logger.info("outbox relay stopped")
    }

    /// Publishes until the outbox is empty; says when to look again: soon when it published rows,
    /// another relay holds the schema's lock (and may have started before this process's rows
    /// were committed), or it failed; else when the next held row comes due, if one does before
    /// the next unprompted run. A failure (database or broker away) leaves the rows for the next
    /// run; the loop counts as stalled if that lasts (see `LoopProgress`).
    private func drain() async -> NextRun {
        progress.busy()
        var published = false
        while true {
            do {
                guard let (count, more) = try await publishNext() else {
                    progress.idle()
                    return .soon
                }
                published = published || count > 0
                if !more {
                    progress.idle()
                    if published { return .soon }
                    guard let next = nextHeld.withLock({ $0 }) else { return .idle }
                    // Due already (it came due since it was read): at once, not after the interval.
                    return .dueIn(.seconds(max(next.timeIntervalSinceNow, 0.001)))
                }
                progress.progressed()
            } catch {
                progress.failed(String(describing: error))
                logger.error("outbox publish failed", metadata: ["error": "\(String(reflecting: error))"])
                return .soon
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
        let size = Self.size(of: record)
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
        size(of: record) > maxRecordBytes
    }

    /// Bytes of the record a broker counts against its limit: headers too, so that large headers
    /// cannot hold the outbox back either.
    static func size(of record: OutgoingRecord) -> Int {
        record.value.count + (record.key?.count ?? 0)
            + record.headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count }
    }

    /// Publishes what one transaction of the relay publishes (see `publishNext`); returns how many rows.
    public func publishBatch() async throws -> Int {
        try await publishNext()?.count ?? 0
    }

    /// One transaction of the relay: it takes the schema's lock, then publishes batch after batch,
    /// each read while the broker acknowledges those before it and deleted once acknowledged, so that
    /// Postgres and the broker work at the same time instead of in turn. Up to `batchesInFlight`
    /// batches are sent at once, but never two that share a key (topic and key): per-key order holds
    /// even when one is refused, since a batch is sent only after every batch before it with one of
    /// its keys was acknowledged. The transaction ends when a read finds nothing, after a read with
    /// a gap in the outbox ids, or after `transactionSpan` (a crash republishes at most that much,
    /// with the same ids). A batch the broker refuses ends it too: no batch is sent after it, those
    /// in flight are awaited, the acknowledged ones are deleted and committed, then the failure is
    /// thrown. Returns how many rows it published and whether it stopped early with rows perhaps
    /// left, or nil when another relay holds the lock.
    func publishNext() async throws -> (count: Int, more: Bool)? {
        let outcome = try await client.transaction(logger: self.logger) { connection -> Outcome? in
            let lockKey = "engage-outbox:" + self.schema
            let lockRows = try await connection.query(
                "SELECT pg_try_advisory_xact_lock(hashtextextended(\(lockKey), 0))", logger: self.logger)
            var locked = false
            for try await value in lockRows.decode(Bool.self) { locked = value }
            guard locked else { return nil }
            return try await self.publishBatches(on: connection)
        }
        guard let outcome else { return nil }
        if let failure = outcome.failure { throw failure }
        return (outcome.count, outcome.more)
    }

    /// The batches of one transaction (see `publishNext`), sent as child tasks and deleted as each
    /// is acknowledged.
    private func publishBatches(on connection: PostgresConnection) async throws -> Outcome {
        let ends = ContinuousClock.now + transactionSpan
        var cursor = Cursor()
        var outcome = Outcome()
        var (next, gapFree) = try await nextBatch(after: &cursor, on: connection)
        try await withThrowingTaskGroup(of: Sent.self) { group in
            var inFlight = KeysInFlight()
            var sending = 0
            while true {
                // Send what may go now, reading the next batch while those sent are on their way.
                while outcome.failure == nil, !next.isEmpty, sending < batchesInFlight, inFlight.admits(next) {
                    let batch = next
                    let records = publishable(batch)
                    inFlight.add(batch)
                    sending += 1
                    group.addTask { [send = self.send] in
                        let started = ContinuousClock.now
                        do {
                            try await send(records)
                            return Sent(rows: batch, started: started, failure: nil)
                        } catch {
                            return Sent(rows: batch, started: started, failure: error)
                        }
                    }
                    // A gap in the ids may be a transaction that commits late: rows below the
                    // cursor would wait for the end of this one, so the next transaction reads them.
                    outcome.more = ContinuousClock.now >= ends || !gapFree
                    next = []
                    if !outcome.more { (next, gapFree) = try await nextBatch(after: &cursor, on: connection) }
                }
                guard let sent = try await group.next() else { break }
                sending -= 1
                inFlight.remove(sent.rows)
                if let failure = sent.failure {
                    if outcome.failure == nil { outcome.failure = failure }
                    outcome.more = false
                    continue
                }
                try await setAside(sent.rows, on: connection)
                published.increment(by: sent.rows.count)
                if let oldest = sent.rows.map(\.at).min() {
                    lag.recordSeconds(max(0, Date().timeIntervalSince(oldest)))
                }
                batchDuration.recordNanoseconds(Int64((ContinuousClock.now - sent.started) / .nanoseconds(1)))
                outcome.count += sent.rows.count
            }
        }
        return outcome
    }

    /// A batch sent, and how its sending ended.
    private struct Sent: Sendable {
        var rows: [Row]
        var started: ContinuousClock.Instant
        var failure: (any Error)?
    }

    /// The keys (topic and key) of the batches in flight, counted: a batch that shares one waits.
    /// Records without a key have no order to keep.
    struct KeysInFlight {
        private var counts: [String: Int] = [:]

        func admits(_ batch: [Row]) -> Bool {
            counts.isEmpty || !batch.contains { Self.key(of: $0).map { counts[$0] != nil } ?? false }
        }

        mutating func add(_ batch: [Row]) {
            for row in batch { if let key = Self.key(of: row) { counts[key, default: 0] += 1 } }
        }

        mutating func remove(_ batch: [Row]) {
            for row in batch {
                guard let key = Self.key(of: row), let count = counts[key] else { continue }
                counts[key] = count > 1 ? count - 1 : nil
            }
        }

        private static func key(of row: Row) -> String? {
            row.record.key.map { row.record.topic + "\u{0}" + String(decoding: $0, as: UTF8.self) }
        }
    }

    /// What one transaction of the relay did.
    private struct Outcome: Sendable {
        var count = 0
        var more = false
        var failure: (any Error)?
    }

    /// Where the reads of one transaction have got to: rows up to it are published or in flight.
    struct Cursor {
        var outboxId: Int64 = 0
        /// The last held row taken, by (`release_at` in microseconds since 2000, id): exact, where a
        /// `Date` would round. At first, a century before 2000.
        var held: (micros: Int64, id: Int64) = (-3_155_760_000_000_000, 0)
    }

    /// The next rows to publish: outbox rows (id order) and due held rows (instant order) after the
    /// cursor, interleaved by time (`merge`), and whether the outbox rows among them follow the
    /// cursor without a gap. Also notes whether held rows come due soon, and the age of the oldest
    /// row waiting.
    private func nextBatch(
        after cursor: inout Cursor, on connection: PostgresConnection
    ) async throws -> (rows: [Row], gapFree: Bool) {
        let now = Date()
        let written = try await self.rows(
            """
            SELECT id, topic, key, payload, headers::text, created_at, 0::bigint FROM outbox
            WHERE id > \(cursor.outboxId) ORDER BY id LIMIT \(self.batchSize)
            """, held: false, on: connection)
        // Held rows due by now, and whether more come due before the next unprompted run.
        let soon = now.addingTimeInterval(self.idleCeiling.inSeconds)
        let held = try await self.rows(
            """
            SELECT id, topic, key, payload, headers::text, release_at,
                   (extract(epoch FROM release_at - timestamptz '2000-01-01 00:00:00+00') * 1000000)::bigint
            FROM outbox_held
            WHERE release_at <= \(soon)
              AND (release_at, id) > (timestamptz '2000-01-01 00:00:00+00' + \(cursor.held.micros) * interval '1 microsecond', \(cursor.held.id))
            ORDER BY release_at, id LIMIT \(self.batchSize)
            """, held: true, on: connection)
        let due = held.prefix { $0.at <= now }
        self.nextHeld.withLock { $0 = due.count < held.count ? held[due.count].at : nil }
        let batch = Self.merge(written, Array(due), limit: self.batchSize)
        let gapFree = Self.isGapFree(batch.filter { !$0.held }.map(\.id), after: cursor.outboxId)
        for row in batch {
            if row.held {
                cursor.held = (row.micros, row.id)
            } else {
                cursor.outboxId = max(cursor.outboxId, row.id)
            }
        }
        // The backlog an operator watches: how long the oldest row has waited (0: none waits).
        self.oldestUnpublished.record(batch.map(\.at).min().map { max(0, now.timeIntervalSince($0)) } ?? 0)
        return (batch, gapFree)
    }

    /// Whether outbox ids (ascending) run on without a gap from the cursor (0: from the first).
    static func isGapFree(_ ids: [Int64], after cursor: Int64) -> Bool {
        guard let first = ids.first else { return true }
        if cursor > 0 && first != cursor + 1 { return false }
        return ids.last! - first == Int64(ids.count - 1)
    }

    /// The batch's records, with a dead letter in place of each row too large to publish.
    private func publishable(_ batch: [Row]) -> [OutgoingRecord] {
        batch.map { row in
            Self.isTooLarge(row.record) ? deadLetter(forTooLarge: row.record, outboxId: row.id) : row.record
        }
    }

    /// Deletes acknowledged rows, keeping those too large to publish in `outbox_unpublishable`.
    private func setAside(_ acknowledged: [Row], on connection: PostgresConnection) async throws {
        for (held, table) in [(false, "outbox"), (true, "outbox_held")] {
            let rows = acknowledged.filter { $0.held == held }
            let large = rows.filter { Self.isTooLarge($0.record) }.map(\.id)
            if !large.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO outbox_unpublishable (id, topic, key, payload, headers, created_at, reason)
                    SELECT id, topic, key, payload, headers, created_at, 'larger than a broker accepts'
                    FROM \(unescaped: table) WHERE id = ANY(\(large)) ON CONFLICT (id) DO NOTHING
                    """, logger: self.logger)
            }
            let ids = rows.map(\.id)
            if !ids.isEmpty {
                try await connection.query(
                    "DELETE FROM \(unescaped: table) WHERE id = ANY(\(ids))", logger: self.logger)
            }
        }
    }

    /// A row to publish: from the outbox (`at`: when it was written) or held until `at`.
    struct Row: Sendable {
        var id: Int64
        var held: Bool
        var at: Date
        /// A held row's instant in microseconds since 2000 (as Postgres keeps it), for the cursor.
        var micros: Int64 = 0
        var record: OutgoingRecord
    }

    private func rows(_ query: PostgresQuery, held: Bool, on connection: PostgresConnection) async throws -> [Row] {
        var rows: [Row] = []
        for try await (id, topic, key, payload, headersJSON, at, micros) in try await connection.query(
            query, logger: logger
        )
        .decode((Int64, String, String?, String, String, Date, Int64).self) {
            let headers = ((try? JSONParser.parse(headersJSON.utf8))?.objectValue ?? [:]).compactMapValues(
                \.stringValue)
            let record = OutgoingRecord(
                topic: topic, key: key, value: Array(payload.utf8),
                headers: headers.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) })
            rows.append(Row(id: id, held: held, at: at, micros: micros, record: record))
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
