import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO

/// Reads and writes profile state rows, memberships, their history and timers, always inside the
/// caller's transaction and under the rows' locks.
public struct StateStore: Sendable {
    let logger: Logger
    /// The timer worker's loop. A writer of timers, once its transaction has committed, brings the
    /// loop's next run forward to the earliest of them (`timersCommitted`): the worker sleeps until
    /// the next timer instead of polling for it.
    let timerWakeups = Wakeups()

    public init(logger: Logger) { self.logger = logger }

    /// Called after the transaction that set timers committed, with the earliest it set.
    func timersCommitted(earliest: Date?) {
        if let earliest { timerWakeups.expect(at: earliest) }
    }

    /// Locks (creating when asked) the profiles' state rows in one global order, following merges:
    /// a profile merged away brings the profile it was merged into.
    func lock(
        spaceId: String, profileIds: Set<String>, create: Bool, skipLocked: Bool = false, readOnly: Bool = false,
        on connection: PostgresConnection
    ) async throws -> [String: ProfileState] {
        var states: [String: ProfileState] = [:]
        var wanted = profileIds
        for _ in 0..<5 where !wanted.isEmpty {
            let ids = wanted.sorted()
            if create {
                try await connection.query(
                    """
                    INSERT INTO profile_state (space_id, profile_id) SELECT \(spaceId), unnest(\(ids)::text[]) ORDER BY 2 ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            let rows = try await connection.query(
                """
                SELECT profile_id, user_id, email, phone, anonymous_ids, traits::text, entries::text, computed::text, member_of, merged_into
                FROM profile_state WHERE space_id = \(spaceId) AND profile_id = ANY(\(ids))
                ORDER BY profile_id \(unescaped: readOnly ? "" : skipLocked ? "FOR UPDATE SKIP LOCKED" : "FOR UPDATE")
                """, logger: logger)
            var next: Set<String> = []
            for try await (
                profileId, userId, email, phone, anonymousIds, traits, entries, computed, memberOf, mergedInto
            ) in rows.decode(
                (String, String?, String?, String?, [String], String, String, String, [String], String?).self)
            {
                var state = ProfileState(profileId: profileId)
                state.userId = userId
                state.email = email
                state.phone = phone
                state.anonymousIds = anonymousIds
                state.traits = Self.object(traits)
                state.entries = ProfileState.entries(fromJSON: entries)
                state.computed = Self.object(computed)
                state.memberOf = Set(memberOf)
                state.mergedInto = mergedInto
                states[profileId] = state
                if let mergedInto, states[mergedInto] == nil { next.insert(mergedInto) }
            }
            wanted = next.subtracting(states.keys)
        }
        return states
    }

    /// Postgres jsonb cannot hold U+0000: JSON text with it would fail its transaction on every retry.
    static func jsonb(_ json: String) -> String {
        json.contains("\\u0000") ? json.replacingOccurrences(of: "\\u0000", with: "") : json
    }

    static func object(_ text: String) -> [String: JSONValue] {
        if case .object(let members)? = try? JSONParser.parse(Array(text.utf8)) { return members }
        return [:]
    }

    func save(spaceId: String, _ states: [ProfileState], on connection: PostgresConnection) async throws {
        guard !states.isEmpty else { return }
        let ids = states.map(\.profileId)
        try await connection.query(
            """
            UPDATE profile_state p SET user_id = NULLIF(u.user_id, ''), email = NULLIF(u.email, ''), phone = NULLIF(u.phone, ''),
                anonymous_ids = CASE WHEN u.anonymous_ids = '' THEN '{}'::text[] ELSE string_to_array(u.anonymous_ids, chr(31)) END,
                traits = u.traits::jsonb, entries = u.entries::jsonb, computed = u.computed::jsonb,
                member_of = CASE WHEN u.member_of = '' THEN '{}'::text[] ELSE string_to_array(u.member_of, chr(31)) END,
                merged_into = NULLIF(u.merged_into, ''), updated_at = now()
            FROM unnest(\(ids)::text[], \(states.map { $0.userId ?? "" })::text[], \(states.map { $0.email ?? "" })::text[], \(states.map { $0.phone ?? "" })::text[],
                        \(states.map { $0.anonymousIds.joined(separator: "\u{1F}") })::text[],
                        \(states.map { Self.jsonb(JSONValue.object($0.traits).json) })::text[], \(states.map { Self.jsonb($0.entriesJSON) })::text[],
                        \(states.map { Self.jsonb(JSONValue.object($0.computed).json) })::text[],
                        \(states.map { $0.memberOf.sorted().joined(separator: "\u{1F}") })::text[], \(states.map { $0.mergedInto ?? "" })::text[])
                 AS u(profile_id, user_id, email, phone, anonymous_ids, traits, entries, computed, member_of, merged_into)
            WHERE p.space_id = \(spaceId) AND p.profile_id = u.profile_id
            """, logger: logger)
    }

    /// One membership change to record: the membership row, a history row and an outbox event.
    struct MembershipRecord {
        var audience: AudienceSpec
        var version: Int
        var entered: Bool
        var reason: AudienceMembershipEvent.Reason
        var profile: ProfileState
        var mergedInto: String?
    }

    func record(spaceId: String, _ changes: [MembershipRecord], now: Date, on connection: PostgresConnection)
        async throws
    {
        guard !changes.isEmpty else { return }
        var sequences: [Int64] = []
        for try await id in try await connection.query(
            """
            SELECT nextval(pg_get_serial_sequence('membership_history', 'id')) FROM generate_series(1, \(changes.count))
            """, logger: logger
        ).decode(Int64.self) { sequences.append(id) }
        try await connection.query(
            """
            INSERT INTO membership_history (id, space_id, profile_id, audience_id, audience_key, audience_version, entered, reason, merged_into, occurred_at)
            SELECT h, \(spaceId), p, a, k, v, e, r, NULLIF(m, ''), \(now)
            FROM unnest(\(sequences)::bigint[], \(changes.map(\.profile.profileId))::text[], \(changes.map(\.audience.id))::text[],
                        \(changes.map(\.audience.key))::text[], \(changes.map(\.version))::int[], \(changes.map(\.entered))::bool[],
                        \(changes.map(\.reason.rawValue))::text[], \(changes.map { $0.mergedInto ?? "" })::text[]) AS x(h, p, a, k, v, e, r, m)
            """, logger: logger)
        let entries = changes.filter(\.entered)
        let exits = changes.filter { !$0.entered }
        if !entries.isEmpty {
            try await connection.query(
                """
                INSERT INTO memberships (space_id, audience_id, profile_id, entered_at)
                SELECT \(spaceId), a, p, \(now) FROM unnest(\(entries.map(\.audience.id))::text[], \(entries.map(\.profile.profileId))::text[]) AS x(a, p)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        if !exits.isEmpty {
            try await connection.query(
                """
                DELETE FROM memberships m USING unnest(\(exits.map(\.audience.id))::text[], \(exits.map(\.profile.profileId))::text[]) AS x(a, p)
                WHERE m.space_id = \(spaceId) AND m.audience_id = x.a AND m.profile_id = x.p
                """, logger: logger)
        }
        var messages: [OutboxMessage] = []
        for (change, sequence) in zip(changes, sequences) {
            let profile = change.profile
            let event = AudienceMembershipEvent(
                spaceId: spaceId, entered: change.entered, audienceId: change.audience.id,
                audienceKey: change.audience.key,
                audienceName: change.audience.name, audienceVersion: change.version, profileId: profile.profileId,
                mergedInto: change.mergedInto, userId: profile.userId, email: profile.contactEmail,
                phone: profile.contactPhone,
                anonymousIds: profile.anonymousIds, traits: profile.traits.merging(profile.computed) { own, _ in own },
                reason: change.reason, occurredAt: now, sequence: sequence)
            messages.append(
                try OutboxMessage(
                    topic: Topic.audienceMembership, key: profile.profileId, event: event,
                    contract: AudienceMembershipEvent.contract, headers: [Header.spaceId: spaceId]))
        }
        try await Outbox.enqueue(messages, on: connection, logger: logger)
    }

    /// Sets (or clears, with nil) each profile's next time-driven evaluation.
    func setTimers(spaceId: String, _ timers: [(profileId: String, due: Date?)], on connection: PostgresConnection)
        async throws
    {
        let due = timers.filter { $0.due != nil }
        let cleared = timers.filter { $0.due == nil }.map(\.profileId)
        if !due.isEmpty {
            try await connection.query(
                """
                INSERT INTO timers (space_id, profile_id, due_at)
                SELECT \(spaceId), p, d FROM unnest(\(due.map(\.profileId))::text[], \(due.map { $0.due! })::timestamptz[]) AS x(p, d) ORDER BY p
                ON CONFLICT (space_id, profile_id) DO UPDATE SET due_at = excluded.due_at
                """, logger: logger)
        }
        if !cleared.isEmpty {
            try await connection.query(
                "DELETE FROM timers WHERE space_id = \(spaceId) AND profile_id = ANY(\(cleared))", logger: logger)
        }
    }

    /// Subscription statuses of the profiles' contacts, for audiences with subscription conditions.
    func statuses(spaceId: String, for states: [ProfileState], on connection: PostgresConnection) async throws
        -> [ContactStateKey: SubscriptionStatus]
    {
        let contacts = Array(Set(states.flatMap { [$0.contactEmail, $0.contactPhone].compactMap { $0 } }))
        guard !contacts.isEmpty else { return [:] }
        var result: [ContactStateKey: SubscriptionStatus] = [:]
        for try await (channel, contact, group, status) in try await connection.query(
            """
            SELECT channel, contact, group_name, status FROM subscription_states WHERE space_id = \(spaceId) AND contact = ANY(\(contacts))
            """, logger: logger
        ).decode((String, String, String, String).self) {
            guard let channel = SubscriptionChannel(rawValue: channel),
                let status = SubscriptionStatus(rawValue: status)
            else { continue }
            result[ContactStateKey(channel: channel, contact: contact, group: group)] = status
        }
        return result
    }
}
