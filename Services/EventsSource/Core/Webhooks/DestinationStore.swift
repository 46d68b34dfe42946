import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// The `destinations` table and the operator's side of `deliveries`: CRUD, pause and resume,
/// secret rotation and the delivery log.
public struct DestinationStore: Sendable {
    let db: PostgresClient
    let secrets: DestinationSecrets
    let logger: Logger
    let onChange: @Sendable () -> Void

    /// `box` seals the signing secrets; the API shows a secret only in the answers to create and rotate.
    public init(db: PostgresClient, box: SecretBox, logger: Logger, onChange: @escaping @Sendable () -> Void = {}) {
        self.db = db
        self.secrets = DestinationSecrets(box: box)
        self.logger = logger
        self.onChange = onChange
    }

    /// At most this many destinations per space: every event is queued once per matching one.
    static let maxPerSpace = 50

    func create(spaceId: String, name: String, url: String, events: [String], paused: Bool) async throws -> Destination
    {
        let id = "dst_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let secret = WebhookSignature.newSecret()
        let sealed = try secrets.seal(secret, destinationId: id)
        return try await db.transaction(logger: logger) { [self] connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("destinations:" + spaceId), 0))", logger: logger)
            var count = 0
            for try await n in try await connection.query(
                "SELECT count(*)::int FROM destinations WHERE space_id = \(spaceId)",
                logger: logger
            ).decode(Int.self) { count = n }
            guard count < Self.maxPerSpace else {
                throw DestinationError("a space has at most \(Self.maxPerSpace) destinations")
            }
            try await connection.query(
                """
                INSERT INTO destinations (id, space_id, name, url, events, secret_sealed, status, paused_reason, paused_at)
                VALUES (\(id), \(spaceId), \(name), \(url), \(events), \(sealed), \(paused ? "paused" : "active"),
                        \(paused ? "paused by operator" : nil), \(paused ? Date() : nil))
                """, logger: logger)
            var destination = try await fetch(spaceId: spaceId, id: id, on: connection)!
            destination.secret = secret
            return destination
        }
    }

    func list(spaceId: String) async throws -> [Destination] {
        try await db.withConnection { try await select(where: "d.space_id = $1", [spaceId], on: $0) }
    }

    func get(spaceId: String, id: String) async throws -> Destination? {
        try await db.withConnection { try await fetch(spaceId: spaceId, id: id, on: $0) }
    }

    private func fetch(spaceId: String, id: String, on connection: PostgresConnection) async throws -> Destination? {
        try await select(where: "d.space_id = $1 AND d.id = $2", [spaceId, id], on: connection).first
    }

    private func select(where condition: String, _ binds: [String], on connection: PostgresConnection) async throws
        -> [Destination]
    {
        var bindings = PostgresBindings()
        for value in binds { bindings.append(value) }
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT d.id, d.space_id, d.name, d.url, d.events, d.status, d.paused_reason, d.paused_at, d.consecutive_failures,
                       d.last_success_at, d.last_failure_at, d.created_at, d.updated_at,
                       (SELECT count(*) FROM deliveries p WHERE p.destination_id = d.id AND p.status = 'pending'),
                       (SELECT count(*) FROM deliveries p WHERE p.destination_id = d.id AND p.status = 'delivered')
                FROM destinations d WHERE \(condition) ORDER BY d.created_at, d.id
                """, binds: bindings)
        var result: [Destination] = []
        let rows = try await connection.query(query, logger: logger)
        for try await c in rows.decode(
            (
                String, String, String, String, [String], String, String?, Date?, Int, Date?, Date?, Date, Date,
                Int64, Int64
            ).self)
        {
            result.append(
                Destination(
                    id: c.0, spaceId: c.1, name: c.2, url: c.3, events: c.4, secret: nil,
                    status: Destination.Status(rawValue: c.5) ?? .paused, pausedReason: c.6, pausedAt: c.7,
                    consecutiveFailures: c.8, lastSuccessAt: c.9, lastFailureAt: c.10, pending: c.13, delivered: c.14,
                    createdAt: c.11, updatedAt: c.12))
        }
        return result
    }

    struct Change {
        var name: String?
        var url: String?
        var events: [String]?
    }

    func update(spaceId: String, id: String, _ change: Change) async throws -> Destination? {
        try await db.transaction(logger: logger) { [self] connection in
            let rows = try await connection.query(
                """
                UPDATE destinations SET name = coalesce(\(change.name), name), url = coalesce(\(change.url), url),
                    events = CASE WHEN \(change.events != nil) THEN \(change.events ?? [])::text[] ELSE events END, updated_at = now()
                WHERE space_id = \(spaceId) AND id = \(id) RETURNING id
                """, logger: logger)
            var found = false
            for try await _ in rows { found = true }
            return found ? try await fetch(spaceId: spaceId, id: id, on: connection) : nil
        }
    }

    func delete(spaceId: String, id: String) async throws -> Bool {
        var found = false
        for try await _ in try await db.query(
            "DELETE FROM destinations WHERE space_id = \(spaceId) AND id = \(id) RETURNING id", logger: logger)
        {
            found = true
        }
        return found
    }

    func rotateSecret(spaceId: String, id: String) async throws -> Destination? {
        let secret = WebhookSignature.newSecret()
        let sealed = try secrets.seal(secret, destinationId: id)
        return try await db.transaction(logger: logger) { [self] connection in
            try await connection.query(
                """
                UPDATE destinations SET secret_sealed = \(sealed), secret = NULL, updated_at = now() WHERE space_id = \(spaceId) AND id = \(id)
                """, logger: logger)
            var destination = try await fetch(spaceId: spaceId, id: id, on: connection)
            destination?.secret = secret
            return destination
        }
    }

    /// Pauses by the operator's hand; queued deliveries wait (see `DeliveryQueue.pause`).
    func pause(spaceId: String, id: String) async throws -> Destination? {
        try await db.transaction(logger: logger) { [self] connection in
            guard try await fetch(spaceId: spaceId, id: id, on: connection) != nil else { return nil }
            try await DeliveryQueue.pause(
                destinationId: id, reason: "paused by operator", on: connection, logger: logger)
            return try await fetch(spaceId: spaceId, id: id, on: connection)
        }
    }

    /// Resumes: every undelivered event goes out again, in order, with a fresh set of attempts.
    func resume(spaceId: String, id: String) async throws -> Destination? {
        let destination: Destination? = try await db.transaction(logger: logger) { [self] connection in
            guard try await fetch(spaceId: spaceId, id: id, on: connection) != nil else { return nil }
            try await connection.query(
                """
                UPDATE destinations SET status = 'active', paused_reason = NULL, paused_at = NULL, consecutive_failures = 0, updated_at = now()
                WHERE id = \(id)
                """, logger: logger)
            try await connection.query(
                """
                UPDATE deliveries SET attempts = 0, next_attempt_at = now(), leased_until = NULL
                WHERE destination_id = \(id) AND status = 'pending'
                """, logger: logger)
            return try await fetch(spaceId: spaceId, id: id, on: connection)
        }
        onChange()
        return destination
    }

    /// Queues again every event delivered to the destination in `[from, to)`: for a receiver that
    /// lost data. They carry their original `webhook-id`, so a receiver that kept them dedupes.
    func replay(spaceId: String, id: String, from: Date, to: Date) async throws -> Int? {
        let count: Int? = try await db.transaction(logger: logger) { [self] connection in
            guard let destination = try await fetch(spaceId: spaceId, id: id, on: connection) else { return nil }
            let next = destination.status == .active ? Date() : Date.distantFuture
            var inserted = 0
            for try await n in try await connection.query(
                """
                WITH replayed AS (
                    INSERT INTO deliveries (destination_id, event_id, event_name, lane, payload, status, next_attempt_at)
                    SELECT destination_id, event_id, event_name, lane, payload, 'pending', \(next) FROM deliveries
                    WHERE destination_id = \(id) AND status = 'delivered' AND created_at >= \(from) AND created_at < \(to)
                    ORDER BY id
                    RETURNING 1
                )
                SELECT count(*)::int FROM replayed
                """, logger: logger
            ).decode(Int.self) { inserted = n }
            return inserted
        }
        onChange()
        return count
    }

    public struct DeliveryRecord: Codable, Sendable {
        var id: Int64
        var eventId: String
        var event: String
        var status: String
        var attempts: Int
        var lastStatus: Int?
        var lastError: String?
        var nextAttemptAt: Date?
        var createdAt: Date
        var deliveredAt: Date?
    }

    /// The delivery log, newest first; `before`: the id to page from.
    func deliveries(destinationId: String, status: String?, before: Int64?, limit: Int) async throws -> [DeliveryRecord]
    {
        var records: [DeliveryRecord] = []
        let rows = try await db.query(
            """
            SELECT id, event_id, event_name, status, attempts, last_status, last_error, next_attempt_at, created_at, delivered_at
            FROM deliveries WHERE destination_id = \(destinationId) AND (\(status ?? "") = '' OR status = \(status ?? ""))
              AND id < \(before ?? Int64.max)
            ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        for try await (id, eventId, event, status, attempts, lastStatus, lastError, next, created, delivered)
            in rows.decode((Int64, String, String, String, Int, Int?, String?, Date, Date, Date?).self)
        {
            records.append(
                DeliveryRecord(
                    id: id, eventId: eventId, event: event, status: status, attempts: attempts, lastStatus: lastStatus,
                    lastError: lastError, nextAttemptAt: status == "pending" && next < .distantFuture ? next : nil,
                    createdAt: created, deliveredAt: delivered))
        }
        return records
    }
}
