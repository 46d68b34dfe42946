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
        // A new job wakes the worker of the instance that took it; the unprompted runs resume jobs
        // of instances that died, at most 5 s late once idle.
        await store.wakeups.run(every: .seconds(1), idleUpTo: .seconds(5), loop: "subscription jobs") {
            var found = false
            do {
                while !Task.isShuttingDownGracefully, let job = try await self.claim() {
                    found = true
                    try await self.process(job)
                }
            } catch {
                self.logger.error(
                    "subscription job failed, will retry", metadata: ["error": "\(String(reflecting: error))"])
                found = true
            }
            return found
        }
    }

    struct Claimed { var id: String, spaceId: String, createdAt: Date }

    func claim() async throws -> Claimed? {
        for try await (id, spaceId, createdAt) in try await store.db.query(
            """
            UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, now()), lease_until = now() + interval '60 seconds'
            WHERE id = (SELECT id FROM jobs WHERE status = 'queued' OR (status = 'running' AND lease_until < now())
                        ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
            RETURNING id, space_id, created_at
            """, logger: logger
        ).decode((String, String, Date).self) {
            return Claimed(id: id, spaceId: spaceId, createdAt: createdAt)
        }
        return nil
    }

    func process(_ job: Claimed) async throws {
        var finished = false
        while !finished {
            finished = try await store.db.transaction(logger: logger) { [self] connection in
                var next = 0
                var count = 0
                for try await (n, c) in try await connection.query(
                    "SELECT next_index, item_count FROM jobs WHERE id = \(job.id) FOR UPDATE", logger: logger
                ).decode((Int, Int).self) { (next, count) = (n, c) }
                var items: [(Int, JSONValue)] = []
                for try await (index, text) in try await connection.query(
                    """
                    SELECT index, item::text FROM job_items WHERE job_id = \(job.id) AND index >= \(next) ORDER BY index LIMIT \(Self.chunkSize)
                    """, logger: logger
                ).decode((Int, String).self) {
                    items.append((index, try JSONParser.parse(text.utf8)))
                }
                // Items are ordered by their index within the job, all at the job's creation time.
                let plan = SubscriptionItems.Plan(
                    items: items.map { (index: $0.0, item: $0.1) }, idPrefix: job.id, at: job.createdAt)
                let batch = SubscriptionCommandBatch(
                    id: "\(job.id):\(next)", spaceId: job.spaceId, source: .api, origin: "job:\(job.id)",
                    commands: plan.commands)
                let outcomes = plan.commands.isEmpty ? [] : try await applier.apply([batch], on: connection)[0]
                let itemResults = plan.results(outcomes)
                let applied = itemResults.count { $0.result == "applied" }
                let rejected = itemResults.count { $0.result == "rejected" }
                let unchanged = itemResults.count - applied - rejected
                let indexes = itemResults.map(\.index)
                let results = try itemResults.map { try WireEncoder.string($0) }
                try await connection.query(
                    """
                    UPDATE job_items j SET result = r.result::jsonb FROM unnest(\(indexes)::int[], \(results)::text[]) AS r(index, result)
                    WHERE j.job_id = \(job.id) AND j.index = r.index
                    """, logger: logger)
                let newNext = (items.last?.0 ?? next - 1) + 1
                let done = items.count < Self.chunkSize || newNext >= count
                try await connection.query(
                    """
                    UPDATE jobs SET next_index = \(done ? count : newNext), applied = applied + \(applied), unchanged = unchanged + \(unchanged),
                        rejected = rejected + \(rejected), lease_until = now() + interval '60 seconds',
                        status = CASE WHEN \(done) THEN 'completed' ELSE status END,
                        finished_at = CASE WHEN \(done) THEN now() ELSE NULL END
                    WHERE id = \(job.id)
                    """, logger: logger)
                return done
            }
            if !finished && Task.isShuttingDownGracefully {
                // Hand the job back at once; the next instance resumes at the committed item.
                try await store.db.query("UPDATE jobs SET lease_until = now() WHERE id = \(job.id)", logger: logger)
                return
            }
        }
        logger.info("subscription job completed", metadata: ["job_id": "\(job.id)"])
    }
}
