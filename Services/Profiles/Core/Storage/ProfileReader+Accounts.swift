import Foundation
import PostgresNIO

/// Reads of the accounts collection, the links between users and accounts, and past merges.
extension ProfileReader {
    /// The account named by `group_id:<id>`, or by its own id (`profile_id:acc_…`).
    public func accountId(spaceId: String, type: String, value: String) async throws -> String? {
        let rows: PostgresRowSequence
        switch type {
        case "group_id":
            rows = try await db.query(
                "SELECT id FROM accounts WHERE space_id = \(spaceId) AND group_id = \(value)",
                logger: logger)
        case "profile_id", "segment_id":
            rows = try await db.query(
                "SELECT id FROM accounts WHERE space_id = \(spaceId) AND id = \(value)",
                logger: logger)
        default:
            return nil
        }
        for try await id in rows.decode(String.self) { return id }
        return nil
    }

    /// An account's one external id, its `group_id`.
    public func accountExternalId(accountId: String) async throws -> ExternalIdRow? {
        for try await (groupId, sourceId, createdAt, messageId) in try await db.query(
            """
            SELECT group_id, first_source_id, created_at, first_message_id FROM accounts WHERE id = \(accountId)
            """, logger: logger
        ).decode((String, String, Date, String).self) {
            return ExternalIdRow(
                type: "group_id", id: groupId, sourceId: sourceId, createdAt: createdAt,
                firstMessageId: messageId)
        }
        return nil
    }

    public struct MergeRow: Sendable {
        public var profileId: String
        public var mergedAt: Date
        public var messageId: String?
    }

    /// The profiles merged into this one, directly or through profiles merged into it, oldest merge first.
    public func merges(into profileId: String) async throws -> [MergeRow] {
        var result: [MergeRow] = []
        for try await (from, mergedAt, messageId) in try await db.query(
            """
            SELECT m.from_profile_id, m.merged_at, NULLIF(m.message_id, '') FROM profiles p
            JOIN merges m ON m.from_profile_id = p.id
            WHERE p.merged_into = \(profileId) ORDER BY m.merged_at, m.id
            """, logger: logger
        ).decode((String, Date, String?).self) {
            result.append(MergeRow(profileId: from, mergedAt: mergedAt, messageId: messageId))
        }
        return result
    }

    /// One linked profile of the other collection, with its external ids, and the link's position
    /// for the next page's cursor.
    public struct LinkRow: Sendable {
        public var externalIds: [ExternalIdRow]
        public var seq: Int64
    }

    /// A user's accounts, in the order they were linked, after `afterSeq`; `limit + 1` rows tell
    /// whether more exist.
    public func accountLinks(profileId: String, afterSeq: Int64, limit: Int) async throws -> [LinkRow] {
        var result: [LinkRow] = []
        for try await (groupId, sourceId, createdAt, messageId, seq) in try await db.query(
            """
            SELECT a.group_id, a.first_source_id, a.created_at, a.first_message_id, l.seq
            FROM account_links l JOIN accounts a ON a.id = l.account_id
            WHERE l.profile_id = \(profileId) AND l.seq > \(afterSeq) ORDER BY l.seq LIMIT \(limit + 1)
            """, logger: logger
        ).decode((String, String, Date, String, Int64).self) {
            let groupId = ExternalIdRow(
                type: "group_id", id: groupId, sourceId: sourceId, createdAt: createdAt,
                firstMessageId: messageId)
            result.append(LinkRow(externalIds: [groupId], seq: seq))
        }
        return result
    }

    /// An account's users, in the order they were linked, after `afterSeq`, each with up to
    /// `maxExternalIds` of its identifiers (oldest first); `limit + 1` rows tell whether more exist.
    public func userLinks(
        accountId: String, afterSeq: Int64, limit: Int,
        maxExternalIds: Int = 25
    ) async throws -> [LinkRow] {
        var users: [(profileId: String, seq: Int64)] = []
        for try await (profileId, seq) in try await db.query(
            """
            SELECT profile_id, seq FROM account_links WHERE account_id = \(accountId) AND seq > \(afterSeq)
            ORDER BY seq LIMIT \(limit + 1)
            """, logger: logger
        ).decode((String, Int64).self) {
            users.append((profileId, seq))
        }
        guard !users.isEmpty else { return [] }
        var externalIds: [String: [ExternalIdRow]] = [:]
        for try await (profileId, type, value, sourceId, createdAt, messageId) in try await db.query(
            """
            SELECT profile_id, type, value, source_id, created_at, first_message_id FROM (
                SELECT i.*, row_number() OVER (PARTITION BY profile_id ORDER BY created_at, type, value) AS n
                FROM identifiers i WHERE profile_id = ANY(\(users.map(\.profileId)))
            ) AS ranked WHERE n <= \(maxExternalIds) ORDER BY profile_id, n
            """, logger: logger
        ).decode((String, String, String, String?, Date, String?).self) {
            externalIds[profileId, default: []].append(
                ExternalIdRow(
                    type: type, id: value, sourceId: sourceId, createdAt: createdAt,
                    firstMessageId: messageId))
        }
        return users.map { LinkRow(externalIds: externalIds[$0.profileId] ?? [], seq: $0.seq) }
    }
}
