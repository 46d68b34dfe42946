import Contracts
import Foundation
import Logging
import Metrics
import PostgresNIO

/// The `deliveries` table as the intake and the delivery worker use it. A delivery is `pending`
/// until a 2xx answer makes it `delivered`. Per destination, the deliveries of one lane (one
/// profile) go out one at a time in id order: a delivery is claimable only when no earlier one of
/// its lane is still pending, so a retried event holds back the ones after it.
enum DeliveryQueue {
    /// Destinations paused after repeated failures (counted as the pause is written; a retried batch may count one twice).
    static let automaticPauses = Counter(label: "engage_webhook_destination_pauses_total")

    struct Route: Sendable {
        var destinationId: String
        var filter: EventFilter
        var active: Bool
    }

    /// The destinations of the given spaces.
    static func routes(spaceIds: [String], on connection: PostgresConnection, logger: Logger) async throws -> [String:
        [Route]]
    {
        var routes: [String: [Route]] = [:]
        for try await (id, spaceId, events, status) in try await connection.query(
            """
            SELECT id, space_id, events, status FROM destinations WHERE space_id = ANY(\(spaceIds)) ORDER BY id
            """, logger: logger
        ).decode((String, String, [String], String).self) {
            routes[spaceId, default: []].append(
                Route(destinationId: id, filter: EventFilter(events), active: status == "active"))
        }
        return routes
    }

    /// Queues each event for every destination of its space that takes it, in the given order.
    static func enqueue(
        _ events: [(SourceEvent, payload: String)], routes: [String: [Route]], on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Int {
        var destinations: [String] = []
        var ids: [String] = []
        var names: [String] = []
        var lanes: [String] = []
        var payloads: [String] = []
        var due: [Date] = []
        let now = Date()
        for (event, payload) in events {
            for route in routes[event.spaceId] ?? [] where route.filter.matches(event.event) {
                destinations.append(route.destinationId)
                ids.append(event.messageId)
                names.append(event.event)
                lanes.append(event.key)
                payloads.append(payload)
                due.append(route.active ? now : .distantFuture)
            }
        }
        guard !ids.isEmpty else { return 0 }
        try await connection.query(
            """
            INSERT INTO deliveries (destination_id, event_id, event_name, lane, payload, status, next_attempt_at)
            SELECT d, e, n, l, p, 'pending', t
            FROM unnest(\(destinations)::text[], \(ids)::text[], \(names)::text[], \(lanes)::text[], \(payloads)::text[], \(due)::timestamptz[])
                WITH ORDINALITY AS m(d, e, n, l, p, t, o)
            ORDER BY o
            """, logger: logger)
        return ids.count
    }

    /// Stops attempts to a destination until it is resumed; its queue keeps its order.
    static func pause(destinationId: String, reason: String, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        try await connection.query(
            """
            UPDATE destinations SET status = 'paused', paused_reason = \(reason), paused_at = now(), updated_at = now()
            WHERE id = \(destinationId)
            """, logger: logger)
        try await connection.query(
            """
            UPDATE deliveries SET next_attempt_at = \(Date.distantFuture) WHERE destination_id = \(destinationId) AND status = 'pending'
            """, logger: logger)
    }

    struct Claimed: Sendable {
        var id: Int64
        var destinationId: String
        var url: String
        /// Opened by the worker (`DestinationSecrets`); nil for a row not sealed yet.
        var sealedSecret: ByteBuffer?
        var eventId: String
        var payload: String
        var attempts: Int
    }

    /// Leases up to `limit` deliveries that are due and first in their lane.
    static func claim(limit: Int, lease: Duration, on connection: PostgresConnection, logger: Logger) async throws
        -> [Claimed]
    {
        let leaseSeconds = lease.inSeconds
        var claimed: [Claimed] = []
        let rows = try await connection.query(
            """
            WITH due AS (
                SELECT d.id FROM deliveries d
                WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until < now())
                  AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.destination_id = d.destination_id AND e.lane = d.lane
                                  AND e.status = 'pending' AND e.id < d.id)
                ORDER BY d.next_attempt_at, d.id LIMIT \(limit)
                FOR UPDATE OF d SKIP LOCKED
            )
            UPDATE deliveries x SET leased_until = now() + make_interval(secs => \(leaseSeconds)), attempts = x.attempts + 1
            FROM due, destinations t
            WHERE x.id = due.id AND t.id = x.destination_id AND t.status = 'active'
            RETURNING x.id, x.destination_id, t.url, t.secret_sealed, x.event_id, x.payload, x.attempts
            """, logger: logger)
        for try await (id, destinationId, url, sealedSecret, eventId, payload, attempts)
            in rows.decode((Int64, String, String, ByteBuffer?, String, String, Int).self)
        {
            claimed.append(
                Claimed(
                    id: id, destinationId: destinationId, url: url, sealedSecret: sealedSecret, eventId: eventId,
                    payload: payload, attempts: attempts))
        }
        return claimed.sorted { $0.id < $1.id }
    }

    struct Outcome: Sendable {
        var delivery: Claimed
        var status: Int?
        var error: String?
        /// When to try again (nil: delivered).
        var retryAt: Date?
        var succeeded: Bool { retryAt == nil && error == nil }
    }

    /// Records what the calls gave: delivered, or due again after a backoff; a delivery that used
    /// its last attempt pauses its destination with the reason.
    static func record(_ outcomes: [Outcome], maxAttempts: Int, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        let delivered = outcomes.filter(\.succeeded)
        let failed = outcomes.filter { !$0.succeeded }
        if !delivered.isEmpty {
            try await connection.query(
                """
                UPDATE deliveries d SET status = 'delivered', delivered_at = now(), leased_until = NULL, last_status = s.code, last_error = NULL
                FROM unnest(\(delivered.map(\.delivery.id))::bigint[], \(delivered.map { $0.status ?? 0 })::int[]) AS s(id, code)
                WHERE d.id = s.id
                """, logger: logger)
            try await connection.query(
                """
                UPDATE destinations SET consecutive_failures = 0, last_success_at = now()
                WHERE id = ANY(\(Array(Set(delivered.map(\.delivery.destinationId))).sorted()))
                """, logger: logger)
        }
        guard !failed.isEmpty else { return }
        try await connection.query(
            """
            UPDATE deliveries d SET leased_until = NULL, next_attempt_at = s.next, last_status = NULLIF(s.code, 0), last_error = s.error
            FROM unnest(\(failed.map(\.delivery.id))::bigint[], \(failed.map { $0.status ?? 0 })::int[],
                        \(failed.map { String(($0.error ?? "").prefix(500)) })::text[], \(failed.map { $0.retryAt ?? Date() })::timestamptz[])
                AS s(id, code, error, next)
            WHERE d.id = s.id
            """, logger: logger)
        var failures: [String: Int] = [:]
        for outcome in failed { failures[outcome.delivery.destinationId, default: 0] += 1 }
        for (destinationId, count) in failures.sorted(by: { $0.key < $1.key }) {
            try await connection.query(
                """
                UPDATE destinations SET consecutive_failures = consecutive_failures + \(count), last_failure_at = now() WHERE id = \(destinationId)
                """, logger: logger)
        }
        for outcome in failed where outcome.delivery.attempts >= maxAttempts {
            let reason =
                "delivery of \(outcome.delivery.eventId) failed \(outcome.delivery.attempts) times; last: \(outcome.error ?? "HTTP \(outcome.status ?? 0)")"
            try await pause(
                destinationId: outcome.delivery.destinationId, reason: reason, on: connection, logger: logger)
            automaticPauses.increment()
            logger.warning(
                "destination paused",
                metadata: ["destination_id": "\(outcome.delivery.destinationId)", "reason": "\(reason)"])
        }
    }
}
