import Contracts
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Send policies per space (cached for two seconds, as the send path reads one per message) and
/// the frequency ledger: one row per marketing message admitted under a cap.
public final class SendPolicyStore: Sendable {
    private let db: PostgresClient
    private let logger: Logger
    private let cache = Mutex<[String: (policy: SendPolicy?, at: ContinuousClock.Instant)]>([:])

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    public func policy(spaceId: String) async throws -> SendPolicy? {
        if let hit = cache.withLock({ $0[spaceId] }), ContinuousClock.now - hit.at < .seconds(2) { return hit.policy }
        var policy: SendPolicy?
        for try await text in try await db.query(
            "SELECT policy::text FROM send_policies WHERE space_id = \(spaceId)", logger: logger
        ).decode(String.self) {
            policy = try WireDecoder.decode(SendPolicy.self, from: text.utf8)
        }
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[spaceId] = (policy, .now)
        }
        return policy
    }

    public func save(spaceId: String, policy: SendPolicy) async throws {
        let json = try WireEncoder.string(policy)
        try await db.query(
            """
            INSERT INTO send_policies (space_id, policy, updated_at) VALUES (\(spaceId), \(json)::jsonb, now())
            ON CONFLICT (space_id) DO UPDATE SET policy = excluded.policy, updated_at = now()
            """, logger: logger)
        cache.withLock { _ = $0.removeValue(forKey: spaceId) }
    }

    /// Whether the message may go under the cap; if so it is counted. Asking again for the same
    /// message (it came back after a rate-limit wait) answers yes without counting it twice. A
    /// per-profile lock makes concurrent dispatchers see each other's admissions.
    func admit(spaceId: String, profileId: String, messageId: String, cap: SendPolicy.FrequencyCap, now: Date)
        async throws -> Bool
    {
        try await db.transaction(logger: logger) { [self] connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\(spaceId + "|" + profileId), 17))", logger: logger)
            for try await _ in try await connection.query(
                """
                SELECT 1 FROM frequency_ledger WHERE space_id = \(spaceId) AND message_id = \(messageId)
                """, logger: logger)
            {
                return true
            }
            let since = now.addingTimeInterval(-Double(cap.windowSeconds))
            var count = 0
            for try await n in try await connection.query(
                """
                SELECT count(*)::int FROM frequency_ledger WHERE space_id = \(spaceId) AND profile_id = \(profileId) AND counted_at > \(since)
                """, logger: logger
            ).decode(Int.self) {
                count = n
            }
            guard count < cap.messages else { return false }
            try await connection.query(
                """
                INSERT INTO frequency_ledger (space_id, message_id, profile_id, counted_at) VALUES (\(spaceId), \(messageId), \(profileId), \(now))
                """, logger: logger)
            return true
        }
    }

    /// Ledger rows older than any window can look back (90 days).
    func prune(now: Date) async throws {
        try await db.query(
            "DELETE FROM frequency_ledger WHERE counted_at < \(now.addingTimeInterval(-90 * 86_400))", logger: logger)
    }
}
