import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import PostgresNIO

/// A message as the send path reads it.
public struct MessageRow: Sendable, Hashable {
    public var spaceId: String
    public var id: String
    public var profileId: String
    public var channel: SubscriptionChannel
    public var templateId: String
    public var templateVersion: Int?
    public var purpose: MessagePurpose
    public var group: String?
    public var journeyId: String?
    public var journeyStepId: String?
    public var broadcastId: String?
    public var test: Bool
    public var requestedAt: Date
    public var attempts: Int
    public var state: String
    public var provider: String?
    public var recipient: String?
    public var providerMessageId: String?
    /// The sender the request named (`from`), in place of the template's and the space's.
    public var requestedSender: String?
    /// A destination action's own content (no template): a snapshot taken when the message was made.
    public var content: TemplateContent?
    public var destinationId: String?
    public var actionId: String?
    /// The W3C `traceparent` of the work that requested it (nil when tracing is off).
    public var traceParent: String? = nil

    /// An event about this message, with its correlation fields filled in.
    func event(_ name: String, id suffix: String, at occurredAt: Date, now: Date = Date()) -> MessageEvent {
        var event = MessageEvent(
            id: "\(id):\(suffix)", spaceId: spaceId, event: name, channel: channel, messageId: id,
            profileId: profileId, contact: recipient, occurredAt: occurredAt, recordedAt: now)
        event.templateId = templateId.isEmpty ? nil : templateId
        event.templateVersion = templateVersion
        event.purpose = purpose
        event.journeyId = journeyId
        event.journeyStepId = journeyStepId
        event.broadcastId = broadcastId
        event.destinationId = destinationId
        event.actionId = actionId
        event.test = test
        event.provider = provider
        event.providerMessageId = providerMessageId
        return event
    }
}

/// One state change of one message. Empty strings and negative numbers mean "keep".
struct Transition: Sendable {
    var spaceId: String
    var id: String
    /// The states the message must be in for the change to apply (others are left alone).
    var from: [String]
    var to: String
    /// Seconds from now until the next attempt (pending), or -1.
    var delay: Double = -1
    /// Seconds from now the lease lasts, or -1 for no lease.
    var lease: Double = -1
    var provider = ""
    var sender = ""
    var recipient = ""
    var templateVersion = -1
    var providerMessageId = ""
    var deliveryStatus = ""
    var reason = ""
    var errorCode = ""
    var errorMessage = ""
    var countAttempt = false
    /// The trace the message's later events continue (its provider call's span).
    var traceParent = ""
}

/// A message to create: a request from the topic or the API, or a messaging destination's send
/// (with the action's own content, or its template).
struct NewMessage: Sendable {
    var request: MessageRequest
    var content: TemplateContent?
    var destinationId: String?
    var actionId: String?
    /// The trace the message continues: its request record's, else the current task's.
    var traceParent: String?

    init(
        request: MessageRequest, content: TemplateContent? = nil, destinationId: String? = nil, actionId: String? = nil,
        traceParent: String? = nil
    ) {
        self.request = request
        self.content = content
        self.destinationId = destinationId
        self.actionId = actionId
        self.traceParent = traceParent
    }
}

/// The `messages` table: requests in, claims, state transitions with their events (outbox, same
/// transaction), the lease sweeper, and reads for the API and the webhooks.
public struct MessageStore: Sendable {
    let db: PostgresClient
    let logger: Logger

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    static let columns = """
        space_id, id, profile_id, channel, template_id, template_version, purpose, group_name, journey_id, journey_step_id, \
        broadcast_id, test, requested_at, attempts, state, provider, recipient, provider_message_id, requested_sender, content::text, \
        destination_id, action_id, trace_parent
        """

    typealias RowTuple = (
        String, String, String, String, String, Int?, String, String?, String?, String?, String?, Bool, Date, Int,
        String,
        String?, String?, String?, String?, String?, String?, String?, String?
    )

    static func row(_ t: RowTuple) -> MessageRow {
        MessageRow(
            spaceId: t.0, id: t.1, profileId: t.2, channel: SubscriptionChannel(rawValue: t.3) ?? .email,
            templateId: t.4,
            templateVersion: t.5, purpose: MessagePurpose(rawValue: t.6) ?? .marketing, group: t.7, journeyId: t.8,
            journeyStepId: t.9, broadcastId: t.10, test: t.11, requestedAt: t.12, attempts: t.13, state: t.14,
            provider: t.15,
            recipient: t.16, providerMessageId: t.17, requestedSender: t.18,
            content: t.19.flatMap { try? WireDecoder.decode(TemplateContent.self, from: $0.utf8) },
            destinationId: t.20, actionId: t.21, traceParent: t.22)
    }

    /// New requests become pending messages; a request seen before changes nothing.
    func insert(_ requests: [MessageRequest], on connection: PostgresConnection) async throws -> Int {
        try await insert(requests.map { NewMessage(request: $0) }, on: connection)
    }

    func insert(_ messages: [NewMessage], on connection: PostgresConnection) async throws -> Int {
        guard !messages.isEmpty else { return 0 }
        let requests = messages.map(\.request)
        let current = TraceHeaders.current()["traceparent"]
        let contents = try messages.map { message in
            try message.content.map { try WireEncoder.string($0) } ?? ""
        }
        let rows = try await connection.query(
            """
            INSERT INTO messages (space_id, id, profile_id, channel, template_id, template_version, purpose, group_name, journey_id,
                journey_step_id, broadcast_id, test, requested_at, state, next_attempt_at, requested_sender, content, destination_id,
                action_id, trace_parent)
            SELECT s, i, p, c, t, NULLIF(v, -1), u, NULLIF(g, ''), NULLIF(j, ''), NULLIF(js, ''), NULLIF(b, ''), x, r, 'pending', now(),
                NULLIF(f, ''), NULLIF(ct, '')::jsonb, NULLIF(d, ''), NULLIF(a, ''), NULLIF(tp, '')
            FROM unnest(\(requests.map(\.spaceId))::text[], \(requests.map(\.id))::text[], \(requests.map(\.profileId))::text[],
                        \(requests.map(\.channel.rawValue))::text[], \(requests.map(\.templateId))::text[],
                        \(requests.map { $0.templateVersion ?? -1 })::int[], \(requests.map(\.purpose.rawValue))::text[],
                        \(requests.map { $0.group ?? "" })::text[], \(requests.map { $0.journeyId ?? "" })::text[],
                        \(requests.map { $0.journeyStepId ?? "" })::text[], \(requests.map { $0.broadcastId ?? "" })::text[],
                        \(requests.map(\.test))::boolean[], \(requests.map(\.occurredAt))::timestamptz[],
                        \(requests.map { $0.from ?? "" })::text[], \(contents)::text[],
                        \(messages.map { $0.destinationId ?? "" })::text[], \(messages.map { $0.actionId ?? "" })::text[],
                        \(messages.map { $0.traceParent ?? current ?? "" })::text[])
                 AS q(s, i, p, c, t, v, u, g, j, js, b, x, r, f, ct, d, a, tp)
            ON CONFLICT (space_id, id) DO NOTHING
            RETURNING 1
            """, logger: logger)
        var inserted = 0
        for try await _ in rows { inserted += 1 }
        return inserted
    }

    /// Takes up to `limit` due messages for this worker (`preparing`, leased for `lease` seconds).
    func claim(limit: Int, lease: Double) async throws -> [MessageRow] {
        var claimed: [MessageRow] = []
        let rows = try await db.query(
            """
            UPDATE messages m SET state = 'preparing', lease_until = now() + \(lease) * interval '1 second', updated_at = now()
            FROM (SELECT space_id, id FROM messages WHERE state = 'pending' AND next_attempt_at <= now()
                  ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED) due
            WHERE m.space_id = due.space_id AND m.id = due.id
            RETURNING m.space_id, m.id, m.profile_id, m.channel, m.template_id, m.template_version, m.purpose, m.group_name,
                m.journey_id, m.journey_step_id, m.broadcast_id, m.test, m.requested_at, m.attempts, m.state, m.provider, m.recipient,
                m.provider_message_id, m.requested_sender, m.content::text, m.destination_id, m.action_id, m.trace_parent
            """, logger: logger)
        for try await tuple in rows.decode(RowTuple.self) { claimed.append(Self.row(tuple)) }
        return claimed
    }

    /// Applies transitions and queues their events in one transaction; returns the ids that changed.
    /// `once`: events queued only if no event with the same id was (`firstOfTheirIds`).
    @discardableResult
    func apply(
        _ transitions: [Transition], events: [MessageEvent], once: [MessageEvent] = [],
        extra: [OutboxMessage] = []
    ) async throws -> Set<String> {
        guard !transitions.isEmpty || !events.isEmpty || !once.isEmpty || !extra.isEmpty else { return [] }
        return try await db.transaction(logger: logger) { [self] connection in
            let changed = try await apply(transitions, on: connection)
            func follows(_ event: MessageEvent) -> Bool { event.messageId.map { changed.contains($0) } ?? true }
            let applied = events.filter(follows) + (try await firstOfTheirIds(once.filter(follows), on: connection))
            let traces = try await traceParents(of: applied, on: connection)
            try await Outbox.enqueue(
                try applied.map { try Self.outbox($0, traceParent: $0.messageId.flatMap { traces[$0] }) } + extra,
                on: connection, logger: logger)
            return changed
        }
    }

    func apply(_ transitions: [Transition], on connection: PostgresConnection) async throws -> Set<String> {
        guard !transitions.isEmpty else { return [] }
        var changed: Set<String> = []
        let t = transitions
        let rows = try await connection.query(
            """
            UPDATE messages m SET state = t.next,
                next_attempt_at = CASE WHEN t.delay < 0 THEN m.next_attempt_at ELSE now() + t.delay * interval '1 second' END,
                lease_until = CASE WHEN t.lease < 0 THEN NULL ELSE now() + t.lease * interval '1 second' END,
                provider = coalesce(NULLIF(t.provider, ''), m.provider), sender = coalesce(NULLIF(t.sender, ''), m.sender),
                recipient = coalesce(NULLIF(t.recipient, ''), m.recipient),
                template_version = CASE WHEN t.version < 0 THEN m.template_version ELSE t.version END,
                provider_message_id = coalesce(NULLIF(t.pmid, ''), m.provider_message_id),
                delivery_status = coalesce(NULLIF(t.dstatus, ''), m.delivery_status),
                reason = coalesce(NULLIF(t.reason, ''), m.reason), error_code = coalesce(NULLIF(t.code, ''), m.error_code),
                error_message = coalesce(NULLIF(t.message, ''), m.error_message),
                attempts = m.attempts + CASE WHEN t.count THEN 1 ELSE 0 END, updated_at = now(),
                trace_parent = coalesce(NULLIF(t.trace, ''), m.trace_parent)
            FROM unnest(\(t.map(\.spaceId))::text[], \(t.map(\.id))::text[], \(t.map { $0.from.joined(separator: ",") })::text[],
                        \(t.map(\.to))::text[], \(t.map(\.delay))::float8[], \(t.map(\.lease))::float8[], \(t.map(\.provider))::text[],
                        \(t.map(\.sender))::text[], \(t.map(\.recipient))::text[], \(t.map(\.templateVersion))::int[],
                        \(t.map(\.providerMessageId))::text[], \(t.map(\.deliveryStatus))::text[], \(t.map(\.reason))::text[],
                        \(t.map(\.errorCode))::text[], \(t.map(\.errorMessage))::text[], \(t.map(\.countAttempt))::boolean[],
                        \(t.map(\.traceParent))::text[])
                 AS t(space_id, id, expected, next, delay, lease, provider, sender, recipient, version, pmid, dstatus, reason, code, message, count, trace)
            WHERE m.space_id = t.space_id AND m.id = t.id AND m.state = ANY(string_to_array(t.expected, ','))
            RETURNING m.id
            """, logger: logger)
        for try await id in rows.decode(String.self) { changed.insert(id) }
        return changed
    }

    /// `traceParent`: the trace of the message's request, which its events continue.
    static func outbox(_ event: MessageEvent, traceParent: String? = nil) throws -> OutboxMessage {
        var headers = [Header.spaceId: event.spaceId]
        if let traceParent { headers["traceparent"] = traceParent }
        return try OutboxMessage(
            topic: Topic.messageEvents, key: event.key, event: event, contract: MessageEvent.contract, headers: headers)
    }

    /// The traces the events' messages belong to; nothing is read when tracing is off.
    private func traceParents(of events: [MessageEvent], on connection: PostgresConnection) async throws
        -> [String: String]
    {
        let keys = Array(Set(events.compactMap { event in event.messageId.map { [event.spaceId, $0] } }))
        guard TraceHeaders.isTracing, !keys.isEmpty else { return [:] }
        var traces: [String: String] = [:]
        for try await (id, trace) in try await connection.query(
            """
            SELECT m.id, m.trace_parent FROM messages m
            JOIN unnest(\(keys.map { $0[0] })::text[], \(keys.map { $0[1] })::text[]) AS k(space_id, id)
              ON m.space_id = k.space_id AND m.id = k.id
            WHERE m.trace_parent IS NOT NULL
            """, logger: logger
        ).decode((String, String).self) {
            traces[id] = trace
        }
        return traces
    }

    /// Leases that ran out: a `preparing` message made no call and is pending again; a `sending`
    /// one may have reached the provider, so it becomes `unknown` and waits for a callback.
    /// Ends the leases that ran out; with when the next one will (nil: none held).
    func sweepExpiredLeases() async throws -> (requeued: Int, unknown: Int, nextExpiry: Duration?) {
        var requeued = 0
        var unknown = 0
        for try await _ in try await db.query(
            """
            UPDATE messages SET state = 'pending', lease_until = NULL, updated_at = now()
            WHERE state = 'preparing' AND lease_until < now() RETURNING 1
            """, logger: logger)
        { requeued += 1 }
        for try await _ in try await db.query(
            """
            UPDATE messages SET state = 'unknown', lease_until = NULL, reason = 'outcome_unknown',
                error_message = 'the worker stopped during the provider call; the outcome comes from the provider callback', updated_at = now()
            WHERE state = 'sending' AND lease_until < now() RETURNING 1
            """, logger: logger)
        { unknown += 1 }
        let nextExpiry = try await db.timeUntil(
            """
            SELECT extract(epoch FROM min(lease_until) - now())::float8 FROM messages WHERE state IN ('preparing', 'sending')
            """, logger: logger)
        return (requeued, unknown, nextExpiry)
    }

    /// How long until the next pending message is due (nil: none pending; zero or less: due now).
    func nextDue() async throws -> Duration? {
        try await db.timeUntil(
            "SELECT extract(epoch FROM min(next_attempt_at) - now())::float8 FROM messages WHERE state = 'pending'",
            logger: logger)
    }

    func message(spaceId: String, id: String) async throws -> MessageRow? {
        for try await tuple in try await db.query(
            "SELECT \(unescaped: Self.columns) FROM messages WHERE space_id = \(spaceId) AND id = \(id)", logger: logger
        ).decode(RowTuple.self) {
            return Self.row(tuple)
        }
        return nil
    }

    /// The message a provider id belongs to (Twilio callbacks without our id; SendGrid's prefix).
    func message(spaceId: String, providerMessageId: String) async throws -> MessageRow? {
        for try await tuple in try await db.query(
            """
            SELECT \(unescaped: Self.columns) FROM messages WHERE provider_message_id = \(providerMessageId) AND space_id = \(spaceId)
            """, logger: logger
        ).decode(RowTuple.self) {
            return Self.row(tuple)
        }
        return nil
    }

    /// The API's view of a message.
    struct Details: Encodable, Sendable {
        var id: String
        var profileId: String
        var channel: String
        /// Absent for a destination action's own content.
        var templateId: String?
        var templateVersion: Int?
        var purpose: String
        var group: String?
        var test: Bool
        var state: String
        var attempts: Int
        var provider: String?
        /// The sender the request named; `sender` is the one used.
        var from: String?
        var sender: String?
        var recipient: String?
        var providerMessageId: String?
        var deliveryStatus: String?
        var reason: String?
        var errorCode: String?
        var errorMessage: String?
        var journeyId: String?
        var journeyStepId: String?
        var broadcastId: String?
        var destinationId: String?
        var actionId: String?
        var requestedAt: Date
        var updatedAt: Date
        /// While pending: when the next attempt is due (after a rate-limit wait or quiet hours).
        var nextAttemptAt: Date?
    }

    /// What `GET /messages` may filter on; every filter is optional.
    struct ListFilter: Sendable {
        var profileId: String?
        var state: String?
        var channel: String?
        var templateId: String?
        var journeyId: String?
        var broadcastId: String?
        var destinationId: String?
        var since: Date?
        var until: Date?
    }

    /// Newest first, keyset-paged on (requested_at, id): `after` is the last row of the previous page.
    func list(spaceId: String, filter f: ListFilter, after: MessageCursor?, limit: Int) async throws -> [Details] {
        let rows = try await db.query(
            """
            SELECT \(unescaped: Self.detailColumns) FROM messages
            WHERE space_id = \(spaceId)
              AND (\(f.profileId)::text IS NULL OR profile_id = \(f.profileId))
              AND (\(f.state)::text IS NULL OR state = \(f.state))
              AND (\(f.channel)::text IS NULL OR channel = \(f.channel))
              AND (\(f.templateId)::text IS NULL OR template_id = \(f.templateId))
              AND (\(f.journeyId)::text IS NULL OR journey_id = \(f.journeyId))
              AND (\(f.broadcastId)::text IS NULL OR broadcast_id = \(f.broadcastId))
              AND (\(f.destinationId)::text IS NULL OR destination_id = \(f.destinationId))
              AND (\(f.since)::timestamptz IS NULL OR requested_at >= \(f.since))
              AND (\(f.until)::timestamptz IS NULL OR requested_at < \(f.until))
              AND (\(after?.micros)::bigint IS NULL
                   OR (requested_at, id) < ('epoch'::timestamptz + \(after?.micros) * interval '1 microsecond', \(after?.id)))
            ORDER BY requested_at DESC, id DESC
            LIMIT \(limit)
            """, logger: logger)
        var result: [Details] = []
        for try await r in rows.decode(DetailTuple.self) { result.append(Self.details(r)) }
        return result
    }

    func details(spaceId: String, id: String) async throws -> Details? {
        let rows = try await db.query(
            """
            SELECT \(unescaped: Self.detailColumns) FROM messages WHERE space_id = \(spaceId) AND id = \(id)
            """, logger: logger)
        for try await r in rows.decode(DetailTuple.self) { return Self.details(r) }
        return nil
    }

    private static let detailColumns = """
        id, profile_id, channel, NULLIF(template_id, ''), template_version, purpose, group_name, test, state, attempts, provider, \
        requested_sender, sender, recipient, provider_message_id, delivery_status, reason, error_code, error_message, journey_id, \
        journey_step_id, broadcast_id, destination_id, action_id, requested_at, updated_at, \
        CASE WHEN state = 'pending' THEN next_attempt_at END
        """

    private typealias DetailTuple = (
        String, String, String, String?, Int?, String, String?, Bool, String, Int, String?, String?,
        String?, String?, String?, String?, String?, String?, String?, String?, String?, String?,
        String?, String?, Date, Date, Date?
    )

    private static func details(_ r: DetailTuple) -> Details {
        Details(
            id: r.0, profileId: r.1, channel: r.2, templateId: r.3, templateVersion: r.4, purpose: r.5, group: r.6,
            test: r.7,
            state: r.8, attempts: r.9, provider: r.10, from: r.11, sender: r.12, recipient: r.13,
            providerMessageId: r.14,
            deliveryStatus: r.15, reason: r.16, errorCode: r.17, errorMessage: r.18, journeyId: r.19,
            journeyStepId: r.20,
            broadcastId: r.21, destinationId: r.22, actionId: r.23, requestedAt: r.24, updatedAt: r.25,
            nextAttemptAt: r.26)
    }

    /// The events whose ids no earlier call saw: a status that both the send's answer and a callback
    /// report (or two callbacks, e.g. `failed` and `canceled`) becomes one event.
    func firstOfTheirIds(_ events: [MessageEvent], on connection: PostgresConnection) async throws -> [MessageEvent] {
        guard !events.isEmpty else { return [] }
        var first: Set<String> = []
        for try await key in try await connection.query(
            """
            INSERT INTO provider_events (space_id, event_id)
            SELECT * FROM unnest(\(events.map(\.spaceId))::text[], \(events.map { "event:" + $0.id })::text[])
            ON CONFLICT DO NOTHING RETURNING event_id
            """, logger: logger
        ).decode(String.self) {
            first.insert(key)
        }
        return events.filter { first.remove("event:" + $0.id) != nil }
    }

    /// True once per provider event id: webhooks are retried by providers, effects happen once.
    func firstDelivery(spaceId: String, eventId: String, on connection: PostgresConnection) async throws -> Bool {
        for try await _ in try await connection.query(
            """
            INSERT INTO provider_events (space_id, event_id) VALUES (\(spaceId), \(eventId)) ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        {
            return true
        }
        return false
    }
}
