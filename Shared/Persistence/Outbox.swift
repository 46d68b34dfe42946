import Contracts
import Foundation
import Kafka
import Logging
import PostgresNIO
import Synchronization

/// An event to publish once the transaction that wrote it commits.
public struct OutboxMessage: Sendable {
    public var topic: String
    public var key: String?
    public var payload: String
    public var headers: [String: String]

    public init(topic: String, key: String?, payload: String, headers: [String: String] = [:]) {
        self.topic = topic
        self.key = key
        self.payload = payload
        self.headers = headers
    }

    /// A platform contract value as JSON, with its contract header.
    public init<Event: Encodable>(
        topic: String, key: String?, event: Event, contract: String, headers: [String: String] = [:]
    ) throws {
        var headers = headers
        headers[Header.contract] = contract
        self.init(
            topic: topic, key: key,
            payload: try WireEncoder.string(event), headers: headers)
    }
}

extension OutboxMessage {
    /// The message continuing a trace other than the current task's (a timer's work continues
    /// the trace that scheduled it); unchanged without one.
    public func continuing(trace traceParent: String?) -> OutboxMessage {
        guard let traceParent, headers["traceparent"] == nil else { return self }
        var message = self
        message.headers["traceparent"] = traceParent
        return message
    }
}

/// The platform's one pattern for "state change and event publication are atomic": write outbox
/// rows in the same transaction as the state change; `OutboxRelay` publishes them after commit.
public enum Outbox {
    /// Set by the platform's transaction while its body runs: `enqueue` and `hold` mark it, and once
    /// the transaction has committed it wakes this process's relays, so that no writer has to (held
    /// rows too: the relay then polls at its short interval while they come due).
    @TaskLocal static var written: Written?

    final class Written: Sendable {
        let rows = Atomic<Bool>(false)
    }

    public static func enqueue(_ messages: [OutboxMessage], on connection: PostgresConnection, logger: Logger)
        async throws
    {
        guard !messages.isEmpty else { return }
        written?.rows.store(true, ordering: .relaxed)
        let columns = Columns(messages)
        try await connection.query(
            """
            INSERT INTO outbox (topic, key, payload, headers)
            SELECT t, NULLIF(k, ''), p, h::jsonb
            FROM unnest(\(columns.topics)::text[], \(columns.keys)::text[], \(columns.payloads)::text[], \(columns.headers)::text[])
                WITH ORDINALITY AS m(t, k, p, h, n)
            ORDER BY n
            """, logger: logger)
    }

    /// Writes messages that must not be published before `releaseAt` (effects decided ahead of
    /// their instant, as timers claimed early are). They wait in `outbox_held`; from that instant
    /// the relay publishes them among the outbox's rows by time: after the rows written before
    /// the instant, before those written after it.
    public static func hold(
        _ messages: [OutboxMessage], until releaseAt: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !messages.isEmpty else { return }
        written?.rows.store(true, ordering: .relaxed)
        let columns = Columns(messages)
        try await connection.query(
            """
            INSERT INTO outbox_held (release_at, topic, key, payload, headers)
            SELECT \(releaseAt), t, NULLIF(k, ''), p, h::jsonb
            FROM unnest(\(columns.topics)::text[], \(columns.keys)::text[], \(columns.payloads)::text[], \(columns.headers)::text[])
                WITH ORDINALITY AS m(t, k, p, h, n)
            ORDER BY n
            """, logger: logger)
    }

    /// The outbox's columns as arrays, for one `unnest` insert.
    private struct Columns {
        var topics: [String] = []
        var keys: [String] = []
        var payloads: [String] = []
        var headers: [String] = []

        init(_ messages: [OutboxMessage]) {
            // The trace context of the work that writes them: the relay publishes it with each record.
            let trace = TraceHeaders.current()
            for message in messages {
                topics.append(message.topic)
                keys.append(message.key ?? "")
                payloads.append(message.payload)
                let ownTrace = message.headers["traceparent"] != nil
                let merged =
                    trace.isEmpty || ownTrace ? message.headers : message.headers.merging(trace) { own, _ in own }
                headers.append(JSONValue.object(merged.mapValues(JSONValue.string)).json)
            }
        }
    }
}

/// At-most-once consumption: remember a message id in the same transaction as its effect.
public enum Inbox {
    /// True when `messageId` is new for `consumer` (and is now recorded); false for a redelivery.
    public static func claim(consumer: String, messageId: String, on connection: PostgresConnection, logger: Logger)
        async throws -> Bool
    {
        let rows = try await connection.query(
            """
            INSERT INTO inbox (consumer, message_id) VALUES (\(consumer), \(messageId))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }
}
