import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// Starts due broadcasts (snapshotting the audience) and turns their recipients into message
/// requests in chunks, each chunk one transaction with its outbox rows and the new count, within the
/// throttle. A broadcast row is claimed with `FOR UPDATE SKIP LOCKED`, so instances share broadcasts
/// and a recipient is requested once; the request id is derived from broadcast and profile, so even a
/// re-run changes nothing downstream.
public struct BroadcastWorker: Service {
    let db: PostgresClient
    let clock: any JourneyClock
    let chunkSize: Int
    let logger: Logger
    let wakeups = Wakeups()

    public init(
        db: PostgresClient, clock: any JourneyClock, chunkSize: Int = 2_000, logger: Logger
    ) {
        self.db = db
        self.clock = clock
        self.chunkSize = chunkSize
        self.logger = logger
    }

    public func wake() { wakeups.wake() }

    public func run() async throws {
        await wakeups.run(every: .milliseconds(500), idleUpTo: .seconds(5), loop: "broadcasts") {
            do {
                while try await pass(), !Task.isShuttingDownGracefully {}
                return try await nextRun()
            } catch {
                logger.warning("broadcast pass failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                return .soon
            }
        }
    }

    /// A broadcast being sent (held back by its throttle or by another instance) is looked at
    /// again soon; otherwise the next run is when the next scheduled one is due. Broadcasts
    /// created here wake the worker, so with none the loop backs off.
    func nextRun() async throws -> NextRun {
        for try await (sending, next) in try await db.query(
            """
            SELECT coalesce(bool_or(status = 'sending'), false), min(scheduled_at) FILTER (WHERE status = 'scheduled')
            FROM broadcasts WHERE status IN ('scheduled', 'sending')
            """, logger: logger
        ).decode((Bool, Date?).self) {
            if sending { return .soon }
            if let next { return .dueIn(.seconds(next.timeIntervalSince(clock.now()))) }
        }
        return .idle
    }

    /// Starts or advances every due broadcast by one chunk; true when there may be more to do at once.
    func pass() async throws -> Bool {
        var due: [(String, String)] = []
        for try await row in try await db.query(
            """
            SELECT space_id, id FROM broadcasts WHERE status IN ('scheduled', 'sending') AND scheduled_at <= \(clock.now()) ORDER BY scheduled_at LIMIT 100
            """, logger: logger
        ).decode((String, String).self) {
            due.append(row)
        }
        var progressed = false
        for (spaceId, id) in due where try await advance(spaceId: spaceId, id: id) { progressed = true }
        return progressed
    }

    /// One chunk of one broadcast (starting it first if it is due); false when it is taken by
    /// another instance, throttled, or over.
    private func advance(spaceId: String, id: String) async throws -> Bool {
        let now = clock.now()
        let more = try await db.transaction(logger: logger) { [self] connection -> Bool in
            var claimed:
                (
                    spaceId: String, id: String, status: String, audienceId: String, channel: String,
                    templateId: String, version: Int?,
                    purpose: String, group: String?, throttle: Int?, startedAt: Date?, recipients: Int64,
                    requested: Int64
                )?
            for try await row in try await connection.query(
                """
                SELECT space_id, id, status, audience_id, channel, template_id, template_version, purpose, group_name, throttle_per_minute,
                       started_at, recipients, requested
                FROM broadcasts WHERE space_id = \(spaceId) AND id = \(id) AND status IN ('scheduled', 'sending') AND scheduled_at <= \(now)
                FOR UPDATE SKIP LOCKED
                """, logger: logger
            ).decode(
                (String, String, String, String, String, String, Int?, String, String?, Int?, Date?, Int64, Int64).self)
            {
                claimed = row
            }
            guard var broadcast = claimed else { return false }
            if broadcast.status == "scheduled" {
                var count: Int64 = 0
                for try await n in try await connection.query(
                    """
                    WITH snapshot AS (
                        INSERT INTO broadcast_recipients (space_id, broadcast_id, seq, profile_id)
                        SELECT \(broadcast.spaceId), \(broadcast.id), row_number() OVER (ORDER BY profile_id), profile_id
                        FROM audience_members WHERE space_id = \(broadcast.spaceId) AND audience_id = \(broadcast.audienceId)
                        RETURNING 1)
                    SELECT count(*) FROM snapshot
                    """, logger: logger
                ).decode(Int64.self) {
                    count = n
                }
                try await connection.query(
                    """
                    UPDATE broadcasts SET status = 'sending', started_at = \(now), recipients = \(count)
                    WHERE space_id = \(broadcast.spaceId) AND id = \(broadcast.id)
                    """, logger: logger)
                logger.info(
                    "broadcast started", metadata: ["broadcast_id": "\(broadcast.id)", "recipients": "\(count)"])
                broadcast.startedAt = now
                broadcast.recipients = count
            }
            // Within the throttle: `throttle` per minute, spread evenly from the start.
            var allowance = Int64(chunkSize)
            if let throttle = broadcast.throttle, let started = broadcast.startedAt {
                let due = Int64(now.timeIntervalSince(started) * Double(throttle) / 60) + 1
                allowance = min(allowance, max(0, min(due, broadcast.recipients) - broadcast.requested))
            }
            var requests: [OutboxMessage] = []
            if allowance > 0 {
                // Recipients are numbered 1...n and go in order under the broadcast's row lock, so
                // the next chunk is a range after the count already requested.
                for try await profileId in try await connection.query(
                    """
                    SELECT profile_id FROM broadcast_recipients
                    WHERE space_id = \(broadcast.spaceId) AND broadcast_id = \(broadcast.id)
                        AND seq > \(broadcast.requested) AND seq <= \(broadcast.requested + allowance)
                    ORDER BY seq
                    """, logger: logger
                ).decode(String.self) {
                    let request = MessageRequest(
                        id: ExecutionIds.broadcastMessage(
                            spaceId: broadcast.spaceId, broadcastId: broadcast.id, profileId: profileId),
                        spaceId: broadcast.spaceId, profileId: profileId,
                        channel: SubscriptionChannel(rawValue: broadcast.channel) ?? .email,
                        templateId: broadcast.templateId,
                        templateVersion: broadcast.version,
                        purpose: MessagePurpose(rawValue: broadcast.purpose) ?? .marketing,
                        group: broadcast.group, broadcastId: broadcast.id, occurredAt: now)
                    requests.append(try request.outbox())
                }
                try await Outbox.enqueue(requests, on: connection, logger: logger)
            }
            let requested = broadcast.requested + Int64(requests.count)
            let finished = requested >= broadcast.recipients
            try await connection.query(
                """
                UPDATE broadcasts SET requested = \(requested), status = CASE WHEN \(finished) THEN 'completed' ELSE status END,
                    finished_at = CASE WHEN \(finished) THEN \(now) ELSE finished_at END
                WHERE space_id = \(broadcast.spaceId) AND id = \(broadcast.id)
                """, logger: logger)
            if finished {
                logger.info(
                    "broadcast completed", metadata: ["broadcast_id": "\(broadcast.id)", "requested": "\(requested)"])
            }
            // Throttled with nothing due yet: the next tick looks again.
            return !requests.isEmpty && !finished
        }
        return more
    }
}
