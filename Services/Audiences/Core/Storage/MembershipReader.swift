import Contracts
import Foundation
import Logging
import PostgresNIO

/// Read side: audience sizes, member pages, one profile's memberships and history, draft previews.
public struct MembershipReader: Sendable {
    let db: PostgresClient
    let logger: Logger

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    public struct Member: Encodable, Sendable {
        public var profileId: String
        public var userId: String?
        public var email: String?
        public var phone: String?
        public var enteredAt: Date
    }

    public struct Membership: Encodable, Sendable {
        public var audienceId: String
        public var audienceKey: String
        public var audienceName: String
        public var enteredAt: Date
    }

    public struct HistoryEntry: Encodable, Sendable {
        public var id: Int64
        public var profileId: String
        public var audienceId: String
        public var audienceKey: String
        public var audienceVersion: Int
        public var event: String
        public var reason: String
        public var mergedInto: String?
        public var occurredAt: Date
    }

    public func size(spaceId: String, audienceId: String) async throws -> Int64 {
        for try await count in try await db.query(
            """
            SELECT count(*) FROM memberships WHERE space_id = \(spaceId) AND audience_id = \(audienceId)
            """, logger: logger
        ).decode(Int64.self) { return count }
        return 0
    }

    public func members(spaceId: String, audienceId: String, after: String?, limit: Int) async throws -> [Member] {
        var result: [Member] = []
        for try await (profileId, userId, email, phone, enteredAt) in try await db.query(
            """
            SELECT m.profile_id, p.user_id, p.email, p.phone, m.entered_at FROM memberships m
            LEFT JOIN profile_state p ON p.space_id = m.space_id AND p.profile_id = m.profile_id
            WHERE m.space_id = \(spaceId) AND m.audience_id = \(audienceId) AND m.profile_id > \(after ?? "")
            ORDER BY m.profile_id LIMIT \(limit)
            """, logger: logger
        ).decode((String, String?, String?, String?, Date).self) {
            result.append(
                Member(profileId: profileId, userId: userId, email: email, phone: phone, enteredAt: enteredAt))
        }
        return result
    }

    /// The profile a (possibly merged-away) profile id now lives in; nil when unknown here.
    public func survivor(spaceId: String, profileId: String) async throws -> String? {
        var current = profileId
        for _ in 0..<20 {
            var found = false
            var next: String?
            for try await mergedInto in try await db.query(
                """
                SELECT merged_into FROM profile_state WHERE space_id = \(spaceId) AND profile_id = \(current)
                """, logger: logger
            ).decode(String?.self) {
                found = true
                next = mergedInto
            }
            guard found else { return nil }
            guard let next else { return current }
            current = next
        }
        return current
    }

    public func memberships(spaceId: String, profileId: String) async throws -> [Membership] {
        var result: [Membership] = []
        for try await (id, key, name, enteredAt) in try await db.query(
            """
            SELECT a.id, a.key, a.name, m.entered_at FROM memberships m
            JOIN audiences a ON a.space_id = m.space_id AND a.id = m.audience_id AND a.deleted_at IS NULL
            WHERE m.space_id = \(spaceId) AND m.profile_id = \(profileId) ORDER BY a.key
            """, logger: logger
        ).decode((String, String, String, Date).self) {
            result.append(Membership(audienceId: id, audienceKey: key, audienceName: name, enteredAt: enteredAt))
        }
        return result
    }

    /// Entries and exits of the profile and of the profiles merged into it, newest first.
    public func history(spaceId: String, profileId: String, before: Int64?, limit: Int) async throws -> [HistoryEntry] {
        var result: [HistoryEntry] = []
        for try await (id, owner, audienceId, key, version, entered, reason, mergedInto, at) in try await db.query(
            """
            SELECT h.id, h.profile_id, h.audience_id, h.audience_key, h.audience_version, h.entered, h.reason, h.merged_into, h.occurred_at
            FROM membership_history h
            WHERE h.space_id = \(spaceId) AND h.id < \(before ?? Int64.max)
              AND (h.profile_id = \(profileId) OR h.profile_id IN (
                  WITH RECURSIVE merged(id) AS (
                      SELECT profile_id FROM profile_state WHERE space_id = \(spaceId) AND merged_into = \(profileId)
                      UNION SELECT p.profile_id FROM profile_state p JOIN merged ON p.space_id = \(spaceId) AND p.merged_into = merged.id)
                  SELECT id FROM merged))
            ORDER BY h.id DESC LIMIT \(limit)
            """, logger: logger
        ).decode((Int64, String, String, String, Int, Bool, String, String?, Date).self) {
            result.append(
                HistoryEntry(
                    id: id, profileId: owner, audienceId: audienceId, audienceKey: key, audienceVersion: version,
                    event: entered ? AudienceMembershipEvent.entered : AudienceMembershipEvent.exited,
                    reason: reason, mergedInto: mergedInto, occurredAt: at))
        }
        return result
    }

    public func computedTraits(spaceId: String, profileId: String) async throws -> [String: JSONValue] {
        for try await text in try await db.query(
            """
            SELECT computed::text FROM profile_state WHERE space_id = \(spaceId) AND profile_id = \(profileId)
            """, logger: logger
        ).decode(String.self) { return StateStore.object(text) }
        return [:]
    }
}
