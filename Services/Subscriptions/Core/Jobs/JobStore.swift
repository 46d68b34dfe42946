import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceKit

/// The asynchronous variant of the replace call: the items are stored as a job, answered with its
/// id at once, and applied in chunks by `JobWorker` with each item's result kept for the caller.
public final class JobStore: Sendable {
    public struct Job: Encodable, Sendable {
        public var id: String
        public var status: String
        public var itemCount: Int
        public var processed: Int
        public var applied: Int
        public var unchanged: Int
        public var rejected: Int
        public var createdAt: Date
        public var startedAt: Date?
        public var finishedAt: Date?
    }

    let db: PostgresClient
    let logger: Logger
    public let wakeups = Wakeups()

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    public func create(spaceId: String, items: [JSONValue]) async throws -> Job {
        let now = Date()
        let job = Job(
            id: Secrets.id("job_"), status: "queued", itemCount: items.count, processed: 0, applied: 0, unchanged: 0,
            rejected: 0,
            createdAt: now)
        try await db.transaction(logger: logger) { [self] connection in
            try await connection.query(
                """
                INSERT INTO jobs (id, space_id, status, item_count, created_at) VALUES (\(job.id), \(spaceId), 'queued', \(items.count), \(now))
                """, logger: logger)
            for start in stride(from: 0, to: items.count, by: 5_000) {
                let slice = Array(items[start..<min(start + 5_000, items.count)])
                try await connection.query(
                    """
                    INSERT INTO job_items (job_id, index, item)
                    SELECT \(job.id), i - 1 + \(start), item::jsonb FROM unnest(\(slice.map(\.json))::text[]) WITH ORDINALITY AS n(item, i)
                    """, logger: logger)
            }
        }
        wakeups.wake()
        return job
    }

    public func job(spaceId: String, id: String) async throws -> Job? {
        for try await row in try await db.query(
            """
            SELECT id, status, item_count, next_index, applied, unchanged, rejected, created_at, started_at, finished_at
            FROM jobs WHERE space_id = \(spaceId) AND id = \(id)
            """, logger: logger
        ).decode((String, String, Int, Int, Int, Int, Int, Date, Date?, Date?).self) {
            return Job(
                id: row.0, status: row.1, itemCount: row.2, processed: row.3, applied: row.4, unchanged: row.5,
                rejected: row.6,
                createdAt: row.7, startedAt: row.8, finishedAt: row.9)
        }
        return nil
    }

    /// Per-item results of a job, in item order, from `offset`.
    public func results(jobId: String, offset: Int, limit: Int) async throws -> [JSONValue] {
        var results: [JSONValue] = []
        for try await text in try await db.query(
            """
            SELECT result::text FROM job_items WHERE job_id = \(jobId) AND index >= \(offset) AND result IS NOT NULL
            ORDER BY index LIMIT \(limit)
            """, logger: logger
        ).decode(String.self) {
            results.append(try JSONParser.parse(text.utf8))
        }
        return results
    }
}
