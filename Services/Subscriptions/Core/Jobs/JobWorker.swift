import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// Applies queued jobs in chunks. A job is leased (`FOR UPDATE SKIP LOCKED`, 60 s, renewed per
/// chunk), so several instances share the work and a crashed instance's job is taken over; each
/// chunk's states, results and progress commit together, so a takeover neither skips nor repeats.
public final class JobWorker: Service, Sendable {
    static let chunkSize = 500
    let store: JobStore
    let applier: SubscriptionApplier
    let logger: Logger

    public init(store: JobStore, applier: SubscriptionApplier, logger: Logger) {
        self.store = store
        self.applier = applier
        self.logger = logger
    }

    public func run() async throws {
        await store.wakeups.run(every: .seconds(1)) {
            do {
                while !Task.isShuttingDownGracefully, let job = try await self.claim() { try await self.process(job) }
            } catch {
                self.logger.error("subscription job failed, will retry", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    struct Claimed { var id: String, spaceId: String, createdAt: Date }

    func claim() async throws -> Claimed? {
        for try await (id, spaceId, createdAt) in try await store.db.query("""
            UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, now()), lease_until = now() + interval '60 seconds'
            WHERE id = (SELECT id FROM jobs WHERE status = 'queued' OR (status = 'running' AND lease_until < now())
                        ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
            RETURNING id, space_id, created_at
            """, logger: logger).decode((String, String, Date).self) {
            return Claimed(id: id, spaceId: spaceId, createdAt: createdAt)
        }
        return nil
    }

    func process(_ job: Claimed) async throws {
        var finished = false
        while !finished {
            finished = try await store.db.withTransaction(logger: logger) { connection in
                var next = 0, count = 0
                for try await (n, c) in try await connection.query(
                    "SELECT next_index, item_count FROM jobs WHERE id = \(job.id) FOR UPDATE", logger: logger
                ).decode((Int, Int).self) { (next, count) = (n, c) }
                var items: [(Int, JSONValue)] = []
                for try await (index, text) in try await connection.query("""
                    SELECT index, item::text FROM job_items WHERE job_id = \(job.id) AND index >= \(next) ORDER BY index LIMIT \(Self.chunkSize)
                    """, logger: logger).decode((Int, String).self) {
                    items.append((index, try JSONParser.parse(text.utf8)))
                }
                // Items are ordered by their index within the job, all at the job's creation time.
                var commands: [SubscriptionCommand] = []
                var itemErrors: [Int: SubscriptionItems.ItemError] = [:]
                var commandItem: [Int] = []
                for (index, item) in items {
                    switch SubscriptionItems.commands(of: item, index: index, idPrefix: job.id, at: job.createdAt) {
                    case .success(let itemCommands):
                        commands += itemCommands
                        commandItem += Array(repeating: index, count: itemCommands.count)
                    case .failure(let error):
                        itemErrors[index] = error
                    }
                }
                let batch = SubscriptionCommandBatch(id: "\(job.id):\(next)", spaceId: job.spaceId, source: .api, origin: "job:\(job.id)",
                                                     commands: commands)
                let outcomes = commands.isEmpty ? [] : try await applier.apply([batch], on: connection)[0]
                var byItem: [Int: [CommandOutcome]] = [:]
                for (position, outcome) in outcomes.enumerated() { byItem[commandItem[position], default: []].append(outcome) }
                var results: [String] = [], indexes: [Int] = []
                var applied = 0, unchanged = 0, rejected = 0
                for (index, item) in items {
                    let result = SubscriptionItems.result(index: index, item: item, error: itemErrors[index], outcomes: byItem[index] ?? [])
                    switch result.result {
                    case "applied": applied += 1
                    case "rejected": rejected += 1
                    default: unchanged += 1
                    }
                    indexes.append(index)
                    results.append(String(decoding: try JSONEncoder.engage().encode(result), as: UTF8.self))
                }
                try await connection.query("""
                    UPDATE job_items j SET result = r.result::jsonb FROM unnest(\(indexes)::int[], \(results)::text[]) AS r(index, result)
                    WHERE j.job_id = \(job.id) AND j.index = r.index
                    """, logger: logger)
                let newNext = (items.last?.0 ?? next - 1) + 1
                let done = items.count < Self.chunkSize || newNext >= count
                try await connection.query("""
                    UPDATE jobs SET next_index = \(done ? count : newNext), applied = applied + \(applied), unchanged = unchanged + \(unchanged),
                        rejected = rejected + \(rejected), lease_until = now() + interval '60 seconds',
                        status = CASE WHEN \(done) THEN 'completed' ELSE status END,
                        finished_at = CASE WHEN \(done) THEN now() ELSE NULL END
                    WHERE id = \(job.id)
                    """, logger: logger)
                return done
            }
            applier.wakeRelay()
            if !finished && Task.isShuttingDownGracefully {
                // Hand the job back at once; the next instance resumes at the committed item.
                try await store.db.query("UPDATE jobs SET lease_until = now() WHERE id = \(job.id)", logger: logger)
                return
            }
        }
        logger.info("subscription job completed", metadata: ["job_id": "\(job.id)"])
    }
}
