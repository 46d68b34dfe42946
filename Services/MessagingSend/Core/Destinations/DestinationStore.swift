import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO

/// Messaging destinations, the replica of who is in each audience now, and the messages both make:
/// an entry (or exit) seen on `engage.audience-membership` becomes one message per matching action;
/// connecting a destination with `sendToExistingMembers` makes one per current member.
public struct DestinationStore: Sendable {
    let db: PostgresClient
    let messages: MessageStore
    let logger: Logger

    public init(db: PostgresClient, messages: MessageStore, logger: Logger) {
        self.db = db
        self.messages = messages
        self.logger = logger
    }

    static let columns = """
        id, name, audience_id, enabled, send_to_existing_members, actions::text, connected_at, created_at, updated_at
        """

    private typealias Row = (String, String, String, Bool, Bool, String, Date, Date, Date)

    private static func destination(_ r: Row) throws -> MessagingDestination {
        let actions = try WireDecoder.decode([DestinationAction].self, from: r.5.utf8)
        return MessagingDestination(
            id: r.0, name: r.1, audienceId: r.2, enabled: r.3, sendToExistingMembers: r.4, actions: actions,
            connectedAt: r.6, createdAt: r.7, updatedAt: r.8)
    }

    static func newId() -> String {
        "mdst_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
    }
    static func newActionId() -> String {
        "act_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
    }

    func list(spaceId: String) async throws -> [MessagingDestination] {
        var result: [MessagingDestination] = []
        for try await row in try await db.query(
            """
            SELECT \(unescaped: Self.columns) FROM messaging_destinations WHERE space_id = \(spaceId) ORDER BY created_at, id
            """, logger: logger
        ).decode(Row.self) {
            result.append(try Self.destination(row))
        }
        return result
    }

    func get(spaceId: String, id: String) async throws -> MessagingDestination? {
        for try await row in try await db.query(
            """
            SELECT \(unescaped: Self.columns) FROM messaging_destinations WHERE space_id = \(spaceId) AND id = \(id)
            """, logger: logger
        ).decode(Row.self) {
            return try Self.destination(row)
        }
        return nil
    }

    /// Creates or replaces a destination; returns it and how many messages connecting it queued.
    /// A destination (re)connects when it becomes enabled: created enabled, or enabled again.
    func save(spaceId: String, id: String?, draft: DestinationDraft, audienceId: String, now: Date = Date())
        async throws
        -> (MessagingDestination, queued: Int)?
    {
        let actions = try WireEncoder.string(draft.actions)
        let (saved, queued) = try await db.transaction(logger: logger) {
            [self] connection -> (MessagingDestination?, Int) in
            var connects = draft.enabled
            var target = id ?? Self.newId()
            if let id {
                var previous: Row?
                for try await row in try await connection.query(
                    """
                    SELECT \(unescaped: Self.columns) FROM messaging_destinations WHERE space_id = \(spaceId) AND id = \(id) FOR UPDATE
                    """, logger: logger
                ).decode(Row.self) { previous = row }
                guard let previous else { return (nil, 0) }
                // Still enabled on the same audience: no new connection, no sends to existing members.
                connects = draft.enabled && (!previous.3 || previous.2 != audienceId)
                target = id
                try await connection.query(
                    """
                    UPDATE messaging_destinations SET name = \(draft.name), audience_id = \(audienceId), enabled = \(draft.enabled),
                        send_to_existing_members = \(draft.sendToExistingMembers), actions = \(actions)::jsonb,
                        connected_at = CASE WHEN \(connects) THEN \(now) ELSE connected_at END, updated_at = \(now)
                    WHERE space_id = \(spaceId) AND id = \(id)
                    """, logger: logger)
            } else {
                try await connection.query(
                    """
                    INSERT INTO messaging_destinations (space_id, id, name, audience_id, enabled, send_to_existing_members, actions,
                        connected_at, created_at, updated_at)
                    VALUES (\(spaceId), \(target), \(draft.name), \(audienceId), \(draft.enabled), \(draft.sendToExistingMembers),
                            \(actions)::jsonb, \(now), \(now), \(now))
                    """, logger: logger)
            }
            var queued = 0
            if connects && draft.sendToExistingMembers {
                queued = try await sendToMembers(
                    spaceId: spaceId, destinationId: target, audienceId: audienceId,
                    actions: draft.actions, now: now, on: connection)
            }
            var saved: MessagingDestination?
            for try await row in try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM messaging_destinations WHERE space_id = \(spaceId) AND id = \(target)
                """, logger: logger
            ).decode(Row.self) { saved = try Self.destination(row) }
            return (saved, queued)
        }
        guard let saved else { return nil }
        return (saved, queued)
    }

    func delete(spaceId: String, id: String) async throws -> Bool {
        for try await _ in try await db.query(
            """
            DELETE FROM messaging_destinations WHERE space_id = \(spaceId) AND id = \(id) RETURNING 1
            """, logger: logger)
        { return true }
        return false
    }

    /// The entry actions' messages for everyone in the audience now, with the id each member's
    /// entry would give them, so an entry event processed later changes nothing.
    private func sendToMembers(
        spaceId: String, destinationId: String, audienceId: String, actions: [DestinationAction], now: Date,
        on connection: PostgresConnection
    ) async throws -> Int {
        let entryActions = actions.filter { $0.enabled && $0.trigger == .audienceEntered }
        guard !entryActions.isEmpty else { return 0 }
        var members: [(profileId: String, entryId: String)] = []
        for try await (profileId, entryId) in try await connection.query(
            """
            SELECT profile_id, entry_id FROM audience_members WHERE space_id = \(spaceId) AND audience_id = \(audienceId) ORDER BY profile_id
            """, logger: logger
        ).decode((String, String).self) {
            members.append((profileId, entryId))
        }
        var queued = 0
        for start in stride(from: 0, to: members.count, by: 1_000) {
            let chunk = members[start..<min(start + 1_000, members.count)]
            let batch = chunk.flatMap { member in
                entryActions.map {
                    $0.message(
                        spaceId: spaceId, destinationId: destinationId, profileId: member.profileId,
                        membershipEventId: member.entryId, now: now)
                }
            }
            queued += try await messages.insert(batch, on: connection)
        }
        if queued > 0 {
            logger.info(
                "messaging destination connected: existing members queued",
                metadata: ["destination_id": "\(destinationId)", "messages": "\(queued)"])
        }
        return queued
    }

    /// Applies membership changes to the replica and makes the messages their destinations' actions
    /// call for. Entries from before a destination connected are not its to act on, nor are
    /// entries and exits caused by a merge (the person did not move) or by the audience's deletion.
    func apply(_ events: [AudienceMembershipEvent], now: Date = Date(), on connection: PostgresConnection) async throws
        -> Int
    {
        guard !events.isEmpty else { return 0 }
        // One statement per kind (a backfill brings thousands): a profile's events arrive in order
        // (keyed by profile), so its last one in the batch is its state.
        var last: [String: AudienceMembershipEvent] = [:]
        for event in events { last["\(event.spaceId)|\(event.audienceId)|\(event.profileId)"] = event }
        let entries = last.values.filter { $0.event == AudienceMembershipEvent.entered }
        let exits = last.values.filter { $0.event != AudienceMembershipEvent.entered }
        if !entries.isEmpty {
            try await connection.query(
                """
                INSERT INTO audience_members (space_id, audience_id, profile_id, entry_id, entered_at)
                SELECT * FROM unnest(\(entries.map(\.spaceId))::text[], \(entries.map(\.audienceId))::text[],
                                     \(entries.map(\.profileId))::text[], \(entries.map(\.id))::text[],
                                     \(entries.map(\.occurredAt))::timestamptz[])
                ON CONFLICT (space_id, audience_id, profile_id) DO UPDATE SET entry_id = excluded.entry_id, entered_at = excluded.entered_at
                WHERE audience_members.entered_at <= excluded.entered_at
                """, logger: logger)
        }
        if !exits.isEmpty {
            try await connection.query(
                """
                DELETE FROM audience_members m
                USING unnest(\(exits.map(\.spaceId))::text[], \(exits.map(\.audienceId))::text[], \(exits.map(\.profileId))::text[],
                             \(exits.map(\.occurredAt))::timestamptz[]) AS x(space_id, audience_id, profile_id, at)
                WHERE m.space_id = x.space_id AND m.audience_id = x.audience_id AND m.profile_id = x.profile_id AND m.entered_at <= x.at
                """, logger: logger)
        }
        let acting = events.filter { $0.reason != .merged && $0.reason != .deleted }
        guard !acting.isEmpty else { return 0 }
        func key(_ spaceId: String, _ audienceId: String) -> String { "\(spaceId)|\(audienceId)" }
        var destinations: [String: [MessagingDestination]] = [:]
        for try await row in try await connection.query(
            """
            SELECT space_id, \(unescaped: Self.columns) FROM messaging_destinations
            WHERE enabled AND (space_id, audience_id) IN (SELECT * FROM unnest(\(acting.map(\.spaceId))::text[], \(acting.map(\.audienceId))::text[]))
            """, logger: logger
        ).decode((String, String, String, String, Bool, Bool, String, Date, Date, Date).self) {
            let destination = try Self.destination((row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9))
            destinations[key(row.0, destination.audienceId), default: []].append(destination)
        }
        guard !destinations.isEmpty else { return 0 }
        var batch: [NewMessage] = []
        for event in acting {
            let trigger: DestinationAction.Trigger =
                event.event == AudienceMembershipEvent.entered ? .audienceEntered : .audienceExited
            for destination in destinations[key(event.spaceId, event.audienceId)] ?? []
            where event.occurredAt >= destination.connectedAt {
                for action in destination.actions where action.enabled && action.trigger == trigger {
                    batch.append(
                        action.message(
                            spaceId: event.spaceId, destinationId: destination.id, profileId: event.profileId,
                            membershipEventId: event.id, now: now))
                }
            }
        }
        return try await messages.insert(batch, on: connection)
    }
}
