import Contracts
import Foundation
import Logging
import PostgresNIO

/// A profile as a service's replica of `engage.profile-updates` knows it.
public struct ProfileSnapshot: Sendable, Hashable {
    public var profileId: String
    public var userId: String?
    public var anonymousId: String?
    public var email: String?
    public var phone: String?
    public var traits: [String: JSONValue]

    public init(
        profileId: String, userId: String? = nil, anonymousId: String? = nil, email: String? = nil,
        phone: String? = nil,
        traits: [String: JSONValue] = [:]
    ) {
        self.profileId = profileId
        self.userId = userId
        self.anonymousId = anonymousId
        self.email = email
        self.phone = phone
        self.traits = traits
    }
}

/// A service's replica of profiles from `engage.profile-updates`, in its own `profiles` table
/// (`ProfileReplica.tableStatements`): identifiers, optionally traits, and where each merged
/// profile went. Lookups follow merges, so a message naming a merged-away profile finds the survivor.
public struct ProfileReplica: Sendable {
    let db: PostgresClient
    let keepsTraits: Bool
    let lockName: String
    let logger: Logger

    /// `lockName`: the service's own name for the write lock (see `lockWrites`).
    public init(db: PostgresClient, keepsTraits: Bool, lockName: String, logger: Logger) {
        self.db = db
        self.keepsTraits = keepsTraits
        self.lockName = lockName
        self.logger = logger
    }

    /// The table as a new schema creates it.
    public static let tableStatements = [
        """
        CREATE TABLE profiles (
            space_id text NOT NULL,
            profile_id text NOT NULL,
            traits jsonb NOT NULL DEFAULT '{}',
            email text,
            phone text,
            user_id text,
            anonymous_id text,
            merged_into text,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (space_id, profile_id)
        )
        """,
        "CREATE INDEX profiles_phone ON profiles (space_id, phone) WHERE phone IS NOT NULL",
        "CREATE INDEX profiles_email ON profiles (space_id, email) WHERE email IS NOT NULL",
    ]

    /// Serialises replica writes across partitions (and instances) until the transaction ends. A
    /// merge on one partition also writes the merged profiles, whose own updates arrive on other
    /// partitions in another order; without one lock, two such batches deadlock, and the retried
    /// batch meets the same order again.
    public func lockWrites(on connection: PostgresConnection) async throws {
        try await connection.query(
            "SELECT pg_advisory_xact_lock(hashtextextended(\(lockName + ":profiles"), 0))", logger: logger)
    }

    public func apply(_ update: ProfileUpdate, on connection: PostgresConnection) async throws {
        switch update.kind {
        case .traitsChanged:
            guard keepsTraits else { return }
            let traits = JSONValue.object(update.traits ?? [:]).json
            try await followingMerges(from: update.profileId) { target, isSurvivor in
                // On the profile itself the new values win; on the profile it was merged into (an
                // update that arrived after the merge, from another partition) the survivor's own
                // values win, as in the merge itself.
                try await connection.query(
                    """
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
            let anonymousId = last("anonymous_id")
            try await followingMerges(from: update.profileId) { target, isSurvivor in
                try await connection.query(
                    """
                    INSERT INTO profiles (space_id, profile_id, email, phone, user_id, anonymous_id, updated_at)
                    VALUES (\(update.spaceId), \(target), \(email), \(phone), \(userId), \(anonymousId), now())
                    ON CONFLICT (space_id, profile_id) DO UPDATE SET updated_at = now(),
                        email = CASE WHEN \(isSurvivor) THEN coalesce(profiles.email, excluded.email) ELSE coalesce(excluded.email, profiles.email) END,
                        phone = CASE WHEN \(isSurvivor) THEN coalesce(profiles.phone, excluded.phone) ELSE coalesce(excluded.phone, profiles.phone) END,
                        user_id = CASE WHEN \(isSurvivor) THEN coalesce(profiles.user_id, excluded.user_id) ELSE coalesce(excluded.user_id, profiles.user_id) END,
                        anonymous_id = coalesce(profiles.anonymous_id, excluded.anonymous_id)
                    RETURNING merged_into
                    """, logger: logger)
            }
        case .merged:
            // The survivor keeps its own values and gains the merged profiles' missing ones.
            let losers = update.mergedProfileIds ?? []
            try await connection.query(
                """
                INSERT INTO profiles (space_id, profile_id, updated_at) VALUES (\(update.spaceId), \(update.profileId), now())
                ON CONFLICT DO NOTHING
                """, logger: logger)
            try await connection.query(
                """
                UPDATE profiles s SET traits = l.traits || s.traits, email = coalesce(s.email, l.email), phone = coalesce(s.phone, l.phone),
                    user_id = coalesce(s.user_id, l.user_id), anonymous_id = coalesce(s.anonymous_id, l.anonymous_id), updated_at = now()
                FROM (SELECT coalesce(jsonb_object_agg(k, v) FILTER (WHERE k IS NOT NULL), '{}'::jsonb) AS traits, max(email) AS email,
                             max(phone) AS phone, max(user_id) AS user_id, max(anonymous_id) AS anonymous_id
                      FROM profiles p LEFT JOIN LATERAL jsonb_each(p.traits) t(k, v) ON true
                      WHERE p.space_id = \(update.spaceId) AND p.profile_id = ANY(\(losers))) l
                WHERE s.space_id = \(update.spaceId) AND s.profile_id = \(update.profileId)
                """, logger: logger)
            try await connection.query(
                """
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
    private func followingMerges(
        from profileId: String,
        _ write: (_ target: String, _ isSurvivor: Bool) async throws -> PostgresRowSequence
    ) async throws {
        var target = profileId
        for depth in 0..<20 {
            let rows = try await write(target, depth > 0)
            var next: String?
            for try await mergedInto in rows.decode(String?.self) { next = mergedInto }
            guard let next, next != target else { return }
            target = next
        }
    }

    /// Profiles by id, following merges (a request may name a profile that was merged since).
    public func profiles(spaceId: String, ids: [String], on connection: PostgresConnection? = nil) async throws
        -> [String: ProfileSnapshot]
    {
        guard !ids.isEmpty else { return [:] }
        let query: PostgresQuery = """
            WITH RECURSIVE chain(requested, profile_id, merged_into, depth) AS (
                SELECT p.profile_id, p.profile_id, p.merged_into, 0 FROM profiles p
                WHERE p.space_id = \(spaceId) AND p.profile_id = ANY(\(ids))
                UNION ALL
                SELECT c.requested, p.profile_id, p.merged_into, c.depth + 1 FROM chain c
                JOIN profiles p ON p.space_id = \(spaceId) AND p.profile_id = c.merged_into WHERE c.depth < 20
            )
            SELECT c.requested, p.profile_id, p.traits::text, p.email, p.phone, p.user_id, p.anonymous_id
            FROM chain c JOIN profiles p ON p.space_id = \(spaceId) AND p.profile_id = c.profile_id
            WHERE c.merged_into IS NULL
            """
        let rows = try await run(query, on: connection)
        var found: [String: ProfileSnapshot] = [:]
        for try await (requested, profileId, traitsText, email, phone, userId, anonymousId)
            in rows.decode((String, String, String, String?, String?, String?, String?).self)
        {
            var traits: [String: JSONValue] = [:]
            if keepsTraits, case .object(let members)? = try? JSONParser.parse(Array(traitsText.utf8)) {
                traits = members
            }
            // A profile known only by its traits still has an address.
            var email = email
            var phone = phone
            if email == nil, case .string(let text)? = traits["email"] { email = try? ContactNormalizer.email(text) }
            if phone == nil, case .string(let text)? = traits["phone"] { phone = try? ContactNormalizer.phone(text) }
            found[requested] = ProfileSnapshot(
                profileId: profileId, userId: userId, anonymousId: anonymousId, email: email, phone: phone,
                traits: traits)
        }
        return found
    }

    /// The current (not merged-away) profile each email address or `+E164` phone belongs to; the
    /// most recently updated one when several share it.
    public func profileIds(spaceId: String, contacts: [String], on connection: PostgresConnection? = nil) async throws
        -> [String: String]
    {
        guard !contacts.isEmpty else { return [:] }
        let query: PostgresQuery = """
            SELECT DISTINCT ON (k.contact) k.contact, p.profile_id
            FROM unnest(\(contacts)::text[]) AS k(contact)
            JOIN profiles p ON p.space_id = \(spaceId) AND (p.email = k.contact OR p.phone = k.contact) AND p.merged_into IS NULL
            ORDER BY k.contact, p.updated_at DESC
            """
        let rows = try await run(query, on: connection)
        var found: [String: String] = [:]
        for try await (contact, profileId) in rows.decode((String, String).self) { found[contact] = profileId }
        return found
    }

    /// A lookup inside the caller's transaction when it has one, else on the pool.
    private func run(_ query: PostgresQuery, on connection: PostgresConnection?) async throws -> PostgresRowSequence {
        if let connection { return try await connection.query(query, logger: logger) }
        return try await db.query(query, logger: logger)
    }
}
