import Contracts
import Foundation
import Logging
import Metrics
import Persistence
import PostgresNIO
import ServiceKit

/// A validated message with the source and space it came through.
public struct IncomingMessage: Sendable {
    public var spaceId: String
    public var sourceId: String
    public var message: SegmentMessage
    /// False for imports (CSV rows): they change identity and traits but are not events, so they
    /// are neither in the event history nor on profile-events, and re-importing emits nothing.
    /// Their idempotence comes from the importer's progress, committed in the same transaction.
    public var recordsEvent: Bool

    public init(spaceId: String, sourceId: String, message: SegmentMessage, recordsEvent: Bool = true) {
        self.spaceId = spaceId
        self.sourceId = sourceId
        self.message = message
        self.recordsEvent = recordsEvent
    }
}

/// Thrown when another instance merged a profile this batch read; the batch is retried.
struct ConcurrentProfileChange: RetryableFailure, CustomStringConvertible {
    var profileId: String
    var description: String { "profile \(profileId) was merged concurrently; retrying the batch" }
}

/// Resolves a batch of messages into profiles and stores everything in one transaction:
/// identifiers, merges, traits, event history, and the outbox rows for profile-events and
/// profile-updates. A message already stored (same space and messageId) is skipped, which makes
/// redelivery after a crash harmless.
public final class ProfileWriter: Sendable {
    public struct Outcome: Sendable, Equatable {
        public var stored: Int
        public var duplicates: Int
    }

    private let db: PostgresClient
    private let directory: SpaceDirectory
    private let logger: Logger
    private let storedCounter = Counter(label: "engage_profiles_messages_stored_total")
    private let duplicateCounter = Counter(label: "engage_profiles_messages_duplicate_total")
    private let mergeCounter = Counter(label: "engage_profiles_merges_total")

    public init(db: PostgresClient, directory: SpaceDirectory, logger: Logger) {
        self.db = db
        self.directory = directory
        self.logger = logger
    }

    public func write(_ messages: [IncomingMessage]) async throws -> Outcome {
        guard !messages.isEmpty else { return Outcome(stored: 0, duplicates: 0) }
        return try await db.transaction(logger: logger) { [self] connection in
            try await write(messages, on: connection)
        }
    }

    /// The same, inside the caller's transaction.
    public func write(_ messages: [IncomingMessage], on connection: PostgresConnection) async throws -> Outcome {
        guard !messages.isEmpty else { return Outcome(stored: 0, duplicates: 0) }
        var extractors: [String: IdentifierExtractor] = [:]
        for spaceId in Set(messages.map(\.spaceId)) {
            extractors[spaceId] = IdentifierExtractor(rules: try await directory.identifierRules(spaceId: spaceId))
        }
        let plans = messages.map { incoming in
            let extractor = extractors[incoming.spaceId]!
            let identifiers = extractor.identifiers(of: incoming.message)
            var aliasAsUser: [Identifier]?
            if incoming.message.type == .alias {
                aliasAsUser = extractor.identifiers(of: incoming.message, aliasPreviousType: "user_id")
            }
            return Plan(incoming: incoming, identifiers: identifiers, aliasAsUser: aliasAsUser)
        }
        let outcome = try await store(plans, extractors: extractors, on: connection)
        storedCounter.increment(by: outcome.stored)
        duplicateCounter.increment(by: outcome.duplicates)
        return outcome
    }

    struct Plan: Sendable {
        var incoming: IncomingMessage
        var identifiers: [Identifier]
        /// For alias: the identifiers reading previousId as a user_id (used when that user exists).
        var aliasAsUser: [Identifier]?

        var allIdentifiers: [Identifier] { identifiers + (aliasAsUser ?? []) }
    }

    private struct Resolved {
        var plan: Plan
        var resolution: IdentityGraph.Resolution
    }

    private func store(_ plans: [Plan], extractors: [String: IdentifierExtractor], on connection: PostgresConnection)
        async throws -> Outcome
    {
        let now = Date()
        // 1. Serialise with every other writer touching the same identifiers, in one global order.
        var lookupSpaces: [String] = []
        var lookupTypes: [String] = []
        var lookupValues: [String] = []
        var lockKeys = Set<String>()
        for plan in plans {
            for identifier in plan.allIdentifiers {
                let key = "\(plan.incoming.spaceId)|\(identifier.type)|\(identifier.value)"
                if lockKeys.insert(key).inserted {
                    lookupSpaces.append(plan.incoming.spaceId)
                    lookupTypes.append(identifier.type)
                    lookupValues.append(identifier.value)
                }
            }
        }
        let sortedKeys = lockKeys.sorted()
        try await connection.query(
            """
            SELECT pg_advisory_xact_lock(h) FROM (
                SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(\(sortedKeys)::text[]) AS k ORDER BY h
            ) AS locks
            """, logger: logger)

        // 2. Messages already stored are redeliveries.
        var stored = Set<String>()
        let eventPlans = plans.filter(\.incoming.recordsEvent)
        if !eventPlans.isEmpty {
            let rows = try await connection.query(
                """
                SELECT e.space_id, e.message_id FROM events e
                JOIN unnest(\(eventPlans.map(\.incoming.spaceId))::text[], \(eventPlans.map(\.incoming.message.messageId))::text[]) AS q(s, m)
                  ON e.space_id = q.s AND e.message_id = q.m
                """, logger: logger)
            for try await (spaceId, messageId) in rows.decode((String, String).self) {
                stored.insert("\(spaceId)|\(messageId)")
            }
        }

        // 3. The profiles these identifiers belong to, locked, with all their identifiers. The
        // lateral subquery makes it one index probe per identifier: with a plain join, a CSV
        // batch's 6,000 keys made the planner hash the whole table (a seq scan per batch, three
        // times slower at 120,000 identifiers; docs/benchmarks.md, "Key probes").
        var profileIds = Set<String>()
        for try await profileId in try await connection.query(
            """
            SELECT DISTINCT i.profile_id
            FROM unnest(\(lookupSpaces)::text[], \(lookupTypes)::text[], \(lookupValues)::text[]) AS q(s, t, v)
            CROSS JOIN LATERAL (
                SELECT profile_id FROM identifiers WHERE space_id = q.s AND type = q.t AND value = q.v LIMIT 1
            ) AS i
            """, logger: logger
        ).decode(String.self) {
            profileIds.insert(profileId)
        }
        var profilesBySpace: [String: [IdentityGraph.Profile]] = [:]
        if !profileIds.isEmpty {
            var loaded: [String: (space: String, profile: IdentityGraph.Profile)] = [:]
            for try await (id, spaceId, createdAt, mergedInto, mergeCount) in try await connection.query(
                """
                SELECT id, space_id, created_at, merged_into, merge_count FROM profiles WHERE id = ANY(\(Array(profileIds))) ORDER BY id FOR UPDATE
                """, logger: logger
            ).decode((String, String, Date, String?, Int).self) {
                if mergedInto != nil { throw ConcurrentProfileChange(profileId: id) }
                loaded[id] = (spaceId, IdentityGraph.Profile(id: id, createdAt: createdAt, mergeCount: mergeCount))
            }
            for try await (type, value, profileId, createdAt) in try await connection.query(
                """
                SELECT type, value, profile_id, created_at FROM identifiers WHERE profile_id = ANY(\(Array(loaded.keys)))
                """, logger: logger
            ).decode((String, String, String, Date).self) {
                loaded[profileId]?.profile.identifiers[Identifier(type: type, value: value)] = createdAt
            }
            for (_, entry) in loaded { profilesBySpace[entry.space, default: []].append(entry.profile) }
        }

        // 4. Resolve in memory, message by message.
        var graphs: [String: IdentityGraph] = [:]
        for spaceId in extractors.keys {
            graphs[spaceId] = IdentityGraph(profiles: profilesBySpace[spaceId] ?? [], makeId: { Secrets.id("use_") })
        }
        var resolved: [Resolved] = []
        var duplicates = 0
        for plan in plans {
            let dedupeKey = "\(plan.incoming.spaceId)|\(plan.incoming.message.messageId)"
            guard stored.insert(dedupeKey).inserted else {
                duplicates += 1
                continue
            }
            let spaceId = plan.incoming.spaceId
            var identifiers = plan.identifiers
            if let asUser = plan.aliasAsUser, let previous = plan.incoming.message.previousId,
                graphs[spaceId]!.owners[Identifier(type: "user_id", value: previous)] != nil
            {
                identifiers = asUser
            }
            let resolution = graphs[spaceId]!.resolve(identifiers, extractor: extractors[spaceId]!, now: now)
            resolved.append(Resolved(plan: plan, resolution: resolution))
        }
        if resolved.isEmpty { return Outcome(stored: 0, duplicates: duplicates) }

        let changes = try ChangeSet(
            resolved: resolved.map { ($0.plan.incoming, $0.resolution) }, graphs: graphs, now: now)
        try await apply(changes, on: connection)
        return Outcome(stored: resolved.count, duplicates: duplicates)
    }

    private func apply(_ changes: ChangeSet, on connection: PostgresConnection) async throws {
        // Merges of profiles that existed before this batch: move their rows to the survivor.
        if !changes.mergeLosers.isEmpty {
            let losers = changes.mergeLosers
            let survivors = changes.mergeSurvivors
            try await connection.query(
                """
                UPDATE identifiers i SET profile_id = m.s FROM unnest(\(losers)::text[], \(survivors)::text[]) AS m(l, s)
                WHERE i.profile_id = m.l
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO traits (profile_id, key, value, updated_at, source_id, message_id)
                SELECT DISTINCT ON (m.s, t.key) m.s, t.key, t.value, t.updated_at, t.source_id, t.message_id
                FROM traits t JOIN unnest(\(losers)::text[], \(survivors)::text[]) AS m(l, s) ON t.profile_id = m.l
                ORDER BY m.s, t.key, t.updated_at DESC
                ON CONFLICT (profile_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
                    source_id = excluded.source_id, message_id = excluded.message_id
                WHERE traits.updated_at < excluded.updated_at
                """, logger: logger)
            try await connection.query("DELETE FROM traits WHERE profile_id = ANY(\(losers))", logger: logger)
            try await connection.query(
                """
                UPDATE events e SET profile_id = m.s FROM unnest(\(losers)::text[], \(survivors)::text[]) AS m(l, s)
                WHERE e.profile_id = m.l
                """, logger: logger)
            try await AccountWriter(logger: logger).moveLinks(losers: losers, survivors: survivors, on: connection)
            try await connection.query(
                """
                UPDATE profiles p SET merged_into = m.s, updated_at = \(changes.now)
                FROM unnest(\(losers)::text[], \(survivors)::text[]) AS m(l, s)
                WHERE p.id = m.l OR p.merged_into = m.l
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO merges (space_id, from_profile_id, into_profile_id, message_id, merged_at)
                SELECT * FROM unnest(\(changes.mergeSpaces)::text[], \(losers)::text[], \(survivors)::text[],
                                     \(changes.mergeMessageIds)::text[], \(changes.mergeLosers.map { _ in changes.now })::timestamptz[])
                """, logger: logger)
            mergeCounter.increment(by: losers.count)
        }

        let newProfiles = changes.newProfiles
        if !newProfiles.isEmpty {
            try await connection.query(
                """
                INSERT INTO profiles (id, space_id, created_at, updated_at, first_message_id, first_source_id, last_message_id, last_source_id, merge_count)
                SELECT id, s, c, c, f, fs, l, ls, mc FROM unnest(
                    \(newProfiles.map(\.id))::text[], \(newProfiles.map(\.spaceId))::text[], \(newProfiles.map(\.createdAt))::timestamptz[],
                    \(newProfiles.map(\.firstMessageId))::text[], \(newProfiles.map(\.firstSourceId))::text[],
                    \(newProfiles.map(\.lastMessageId))::text[], \(newProfiles.map(\.lastSourceId))::text[],
                    \(newProfiles.map(\.mergeCount))::int[]) AS n(id, s, c, f, fs, l, ls, mc)
                """, logger: logger)
        }
        let touched = changes.touchedExisting
        if !touched.isEmpty {
            try await connection.query(
                """
                UPDATE profiles p SET updated_at = \(changes.now), last_message_id = u.m, last_source_id = u.s, merge_count = u.mc
                FROM unnest(\(touched.map(\.id))::text[], \(touched.map(\.lastMessageId))::text[], \(touched.map(\.lastSourceId))::text[],
                            \(touched.map(\.mergeCount))::int[]) AS u(id, m, s, mc)
                WHERE p.id = u.id
                """, logger: logger)
        }

        let identifiers = changes.newIdentifiers
        if !identifiers.isEmpty {
            try await connection.query(
                """
                INSERT INTO identifiers (space_id, type, value, profile_id, created_at, source_id, first_message_id)
                SELECT s, t, v, p, \(changes.now), src, m FROM unnest(
                    \(identifiers.map(\.spaceId))::text[], \(identifiers.map(\.type))::text[], \(identifiers.map(\.value))::text[],
                    \(identifiers.map(\.profileId))::text[], \(identifiers.map(\.sourceId))::text[], \(identifiers.map(\.messageId))::text[]
                ) AS n(s, t, v, p, src, m)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }

        let changedTraits = try await upsertTraits(changes.traitWrites, on: connection)
        let accountIds = try await AccountWriter(logger: logger)
            .apply(changes.accounts, now: changes.now, on: connection)

        let events = changes.events
        if !events.isEmpty {
            // A group call is also in its account's history.
            let accounts: [String] = events.map { row in
                guard let groupId = AccountChanges.groupId(of: row.message) else { return "" }
                return accountIds[.init(spaceId: row.spaceId, groupId: groupId)] ?? ""
            }
            try await connection.query(
                """
                INSERT INTO events (space_id, message_id, profile_id, source_id, type, event, occurred_at, received_at,
                                    message, account_id)
                SELECT s, m, p, src, t, NULLIF(e, ''), o, r, body, NULLIF(a, '') FROM unnest(
                    \(events.map(\.spaceId))::text[], \(events.map(\.messageId))::text[],
                    \(events.map(\.profileId))::text[],
                    \(events.map(\.sourceId))::text[], \(events.map(\.type))::text[], \(events.map(\.event))::text[],
                    \(events.map(\.occurredAt))::timestamptz[], \(events.map(\.receivedAt))::timestamptz[],
                    \(events.map(\.body))::text[], \(accounts)::text[]
                ) AS n(s, m, p, src, t, e, o, r, body, a)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }

        if !changes.conflicts.isEmpty {
            for conflict in changes.conflicts {
                try await connection.query(
                    """
                    INSERT INTO identity_conflicts (space_id, message_id, profile_id, dropped)
                    VALUES (\(conflict.spaceId), \(conflict.messageId), \(conflict.profileId), \(conflict.dropped))
                    """, logger: logger)
            }
        }

        try await Outbox.enqueue(
            try changes.outboxMessages(changedTraits: changedTraits), on: connection, logger: logger)
    }

    /// Writes the newest value of each trait (by message timestamp, so a late older message loses)
    /// and returns the traits whose stored value really changed, per profile.
    private func upsertTraits(_ writes: [ChangeSet.TraitWrite], on connection: PostgresConnection) async throws
        -> [String: ChangeSet.TraitChange]
    {
        guard !writes.isEmpty else { return [:] }
        var previous: [String: String] = [:]
        for try await (profileId, key, value) in try await connection.query(
            """
            -- one index probe per key, as for identifiers above
            SELECT q.p, q.k, t.value::text
            FROM unnest(\(writes.map(\.profileId))::text[], \(writes.map(\.key))::text[]) AS q(p, k)
            CROSS JOIN LATERAL (SELECT value FROM traits WHERE profile_id = q.p AND key = q.k LIMIT 1) AS t
            """, logger: logger
        ).decode((String, String, String).self) {
            previous["\(profileId)|\(key)"] = value
        }
        var updated = Set<String>()
        for try await (profileId, key) in try await connection.query(
            """
            INSERT INTO traits (profile_id, key, value, updated_at, source_id, message_id)
            SELECT p, k, v::jsonb, u, s, m FROM unnest(
                \(writes.map(\.profileId))::text[], \(writes.map(\.key))::text[], \(writes.map(\.valueJSON))::text[],
                \(writes.map(\.updatedAt))::timestamptz[], \(writes.map(\.sourceId))::text[], \(writes.map(\.messageId))::text[]
            ) AS n(p, k, v, u, s, m)
            ON CONFLICT (profile_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
                source_id = excluded.source_id, message_id = excluded.message_id
            WHERE traits.updated_at <= excluded.updated_at
            RETURNING profile_id, key
            """, logger: logger
        ).decode((String, String).self) {
            updated.insert("\(profileId)|\(key)")
        }
        var changes: [String: ChangeSet.TraitChange] = [:]
        for write in writes where updated.contains("\(write.profileId)|\(write.key)") {
            if let old = previous["\(write.profileId)|\(write.key)"],
                let oldValue = try? JSONParser.parse(old.utf8), oldValue == write.value
            {
                continue
            }
            var change =
                changes[write.profileId]
                ?? ChangeSet.TraitChange(spaceId: write.spaceId, messageId: write.messageId, at: write.updatedAt)
            change.traits[write.key] = write.value
            if write.updatedAt >= change.at {
                change.at = write.updatedAt
                change.messageId = write.messageId
            }
            changes[write.profileId] = change
        }
        return changes
    }
}
