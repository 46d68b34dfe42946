import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO

/// This service's replicas of profiles (from `engage.profile-updates`) and subscription states
/// (from `engage.subscription-changes`): what a send needs to know about its recipient, without
/// reading another service's schema.
public struct ReplicaStore: Sendable {
    let db: PostgresClient
    let logger: Logger

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    /// Serialises profile-replica writes across partitions (and instances) until the transaction
    /// ends. A merge on one partition also writes the merged profiles, whose own updates arrive on
    /// other partitions in another order; without one lock, two such batches deadlock, and the
    /// retried batch meets the same order again.
    func lockProfiles(on connection: PostgresConnection) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended('messaging_send:profiles', 0))", logger: logger)
    }

    func apply(_ update: ProfileUpdate, on connection: PostgresConnection) async throws {
        switch update.kind {
        case .traitsChanged:
            let traits = JSONValue.object(update.traits ?? [:]).json
            try await followingMerges(from: update.profileId) { target, isSurvivor in
                // On the profile itself the new values win; on the profile it was merged into (an
                // update that arrived after the merge, from another partition) the survivor's own
                // values win, as in the merge itself.
                try await connection.query("""
                    INSERT INTO profiles (space_id, profile_id, traits, updated_at) VALUES (\(update.spaceId), \(target), \(traits)::jsonb, now())
                    ON CONFLICT (space_id, profile_id) DO UPDATE SET updated_at = now(),
                        traits = CASE WHEN \(isSurvivor) THEN excluded.traits || profiles.traits ELSE profiles.traits || excluded.traits END
                    RETURNING merged_into
                    """, logger: logger)
            }
        case .identifiersAdded:
            let identifiers = update.identifiers ?? []
            func last(_ type: String) -> String? { identifiers.last(where: { $0.type == type })?.id }
            let email = last("email").map { (try? ContactNormalizer.email($0)) ?? $0 }
            let phone = last("phone").map { (try? ContactNormalizer.phone($0)) ?? $0 }
            let userId = last("user_id")
            try await followingMerges(from: update.profileId) { target, isSurvivor in
                try await connection.query("""
                    INSERT INTO profiles (space_id, profile_id, email, phone, user_id, updated_at)
                    VALUES (\(update.spaceId), \(target), \(email), \(phone), \(userId), now())
                    ON CONFLICT (space_id, profile_id) DO UPDATE SET updated_at = now(),
                        email = CASE WHEN \(isSurvivor) THEN coalesce(profiles.email, excluded.email) ELSE coalesce(excluded.email, profiles.email) END,
                        phone = CASE WHEN \(isSurvivor) THEN coalesce(profiles.phone, excluded.phone) ELSE coalesce(excluded.phone, profiles.phone) END,
                        user_id = CASE WHEN \(isSurvivor) THEN coalesce(profiles.user_id, excluded.user_id) ELSE coalesce(excluded.user_id, profiles.user_id) END
                    RETURNING merged_into
                    """, logger: logger)
            }
        case .merged:
            // The survivor keeps its own values and gains the merged profiles' missing ones.
            let losers = update.mergedProfileIds ?? []
            try await connection.query("""
                INSERT INTO profiles (space_id, profile_id, updated_at) VALUES (\(update.spaceId), \(update.profileId), now())
                ON CONFLICT DO NOTHING
                """, logger: logger)
            try await connection.query("""
                UPDATE profiles s SET traits = l.traits || s.traits, email = coalesce(s.email, l.email), phone = coalesce(s.phone, l.phone),
                    user_id = coalesce(s.user_id, l.user_id), updated_at = now()
                FROM (SELECT coalesce(jsonb_object_agg(k, v) FILTER (WHERE k IS NOT NULL), '{}'::jsonb) AS traits, max(email) AS email, max(phone) AS phone, max(user_id) AS user_id
                      FROM profiles p LEFT JOIN LATERAL jsonb_each(p.traits) t(k, v) ON true
                      WHERE p.space_id = \(update.spaceId) AND p.profile_id = ANY(\(losers))) l
                WHERE s.space_id = \(update.spaceId) AND s.profile_id = \(update.profileId)
                """, logger: logger)
            try await connection.query("""
                INSERT INTO profiles (space_id, profile_id, merged_into, updated_at)
                SELECT \(update.spaceId), unnest(\(losers)::text[]), \(update.profileId), now()
                ON CONFLICT (space_id, profile_id) DO UPDATE SET merged_into = excluded.merged_into, updated_at = now()
                """, logger: logger)
        }
    }

    /// Applies a write to a profile and, when that profile was merged into another, to the one it
    /// was merged into, and so on. Updates of one profile and its merge travel on different
    /// partitions, so an update of a merged-away profile may arrive after the merge; without this
    /// the survivor (which every lookup reads) would never see it. `write` returns `merged_into`.
    private func followingMerges(from profileId: String,
                                 _ write: (_ target: String, _ isSurvivor: Bool) async throws -> PostgresRowSequence) async throws {
        var target = profileId
        for depth in 0..<20 {
            let rows = try await write(target, depth > 0)
            var next: String?
            for try await mergedInto in rows.decode(String?.self) { next = mergedInto }
            guard let next, next != target else { return }
            target = next
        }
    }

    func apply(_ change: SubscriptionChange, on connection: PostgresConnection) async throws {
        try await SubscriptionStateReplica.apply(change, on: connection, logger: logger)
    }

    /// Profiles by id, following merges (a request may name a profile that was merged since).
    func profiles(spaceId: String, ids: [String]) async throws -> [String: ProfileSnapshot] {
        guard !ids.isEmpty else { return [:] }
        var found: [String: ProfileSnapshot] = [:]
        let rows = try await db.query("""
            WITH RECURSIVE chain(requested, profile_id, merged_into, depth) AS (
                SELECT p.profile_id, p.profile_id, p.merged_into, 0 FROM profiles p
                WHERE p.space_id = \(spaceId) AND p.profile_id = ANY(\(ids))
                UNION ALL
                SELECT c.requested, p.profile_id, p.merged_into, c.depth + 1 FROM chain c
                JOIN profiles p ON p.space_id = \(spaceId) AND p.profile_id = c.merged_into WHERE c.depth < 20
            )
            SELECT c.requested, p.profile_id, p.traits::text, p.email, p.phone, p.user_id
            FROM chain c JOIN profiles p ON p.space_id = \(spaceId) AND p.profile_id = c.profile_id
            WHERE c.merged_into IS NULL
            """, logger: logger)
        for try await (requested, profileId, traitsText, email, phone, userId) in rows.decode((String, String, String, String?, String?, String?).self) {
            var traits: [String: JSONValue] = [:]
            if case .object(let members)? = try? JSONParser.parse(Array(traitsText.utf8)) { traits = members }
            // A profile known only by its traits still has an address.
            var email = email, phone = phone
            if email == nil, case .string(let text)? = traits["email"] { email = try? ContactNormalizer.email(text) }
            if phone == nil, case .string(let text)? = traits["phone"] { phone = try? ContactNormalizer.phone(text) }
            found[requested] = ProfileSnapshot(profileId: profileId, userId: userId, email: email, phone: phone, traits: traits)
        }
        return found
    }

    struct StateKey: Hashable {
        var channel: SubscriptionChannel
        var contact: String
        /// Lower-case group name, or "" for the channel's global state.
        var group: String
    }

    func statuses(spaceId: String, keys: [StateKey]) async throws -> [StateKey: SubscriptionStatus] {
        guard !keys.isEmpty else { return [:] }
        var found: [StateKey: SubscriptionStatus] = [:]
        let rows = try await db.query("""
            SELECT s.channel, s.contact, s.group_name, s.status FROM subscription_states s
            JOIN unnest(\(keys.map(\.channel.rawValue))::text[], \(keys.map(\.contact))::text[], \(keys.map(\.group))::text[]) AS k(c, a, g)
              ON s.space_id = \(spaceId) AND s.channel = k.c AND s.contact = k.a AND s.group_name = k.g
            """, logger: logger)
        for try await (channel, contact, group, status) in rows.decode((String, String, String, String).self) {
            guard let channel = SubscriptionChannel(rawValue: channel), let status = SubscriptionStatus(rawValue: status) else { continue }
            found[StateKey(channel: channel, contact: contact, group: group)] = status
        }
        return found
    }

    /// The profile whose phone this is (inbound replies), if known.
    func profileId(spaceId: String, phone: String) async throws -> String? {
        for try await id in try await db.query("""
            SELECT profile_id FROM profiles WHERE space_id = \(spaceId) AND phone = \(phone) AND merged_into IS NULL
            ORDER BY updated_at DESC LIMIT 1
            """, logger: logger).decode(String.self) {
            return id
        }
        return nil
    }
}
