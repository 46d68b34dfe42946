import Foundation
import Logging
import PostgresNIO
import ServiceKit

/// Writes accounts, their traits and their links to users, inside the profile writer's transaction.
struct AccountWriter {
    let logger: Logger

    /// Stores `changes` and returns the id of each account they name (new or existing).
    func apply(
        _ changes: AccountChanges, now: Date,
        on connection: PostgresConnection
    ) async throws -> [AccountChanges.Key: String] {
        guard !changes.isEmpty else { return [:] }
        let accounts = changes.accounts
        var ids: [AccountChanges.Key: String] = [:]
        // An existing account keeps its id, creation and first message; the unique (space, group id)
        // makes a concurrent creation of the same account wait, then update.
        for try await (id, spaceId, groupId) in try await connection.query(
            """
            INSERT INTO accounts (id, space_id, group_id, created_at, updated_at, first_message_id, first_source_id,
                                  last_message_id, last_source_id)
            SELECT id, s, g, \(now), \(now), f, fs, l, ls FROM unnest(
                \(accounts.map { _ in Secrets.id("acc_") })::text[], \(accounts.map(\.key.spaceId))::text[],
                \(accounts.map(\.key.groupId))::text[], \(accounts.map(\.firstMessageId))::text[],
                \(accounts.map(\.firstSourceId))::text[], \(accounts.map(\.lastMessageId))::text[],
                \(accounts.map(\.lastSourceId))::text[]) AS n(id, s, g, f, fs, l, ls)
            ON CONFLICT (space_id, group_id) DO UPDATE SET updated_at = excluded.updated_at,
                last_message_id = excluded.last_message_id, last_source_id = excluded.last_source_id
            RETURNING id, space_id, group_id
            """, logger: logger
        ).decode((String, String, String).self) {
            ids[AccountChanges.Key(spaceId: spaceId, groupId: groupId)] = id
        }

        let links = changes.links
        try await connection.query(
            """
            INSERT INTO account_links (account_id, profile_id, created_at, source_id, first_message_id)
            SELECT a, p, \(now), s, m FROM unnest(
                \(links.map { ids[$0.key] ?? "" })::text[], \(links.map(\.profileId))::text[],
                \(links.map(\.sourceId))::text[], \(links.map(\.messageId))::text[]) AS n(a, p, s, m)
            ON CONFLICT DO NOTHING
            """, logger: logger)

        let traits = changes.traitWrites
        if !traits.isEmpty {
            try await connection.query(
                """
                INSERT INTO account_traits (account_id, key, value, updated_at, source_id, message_id)
                SELECT a, k, v::jsonb, u, s, m FROM unnest(
                    \(traits.map { ids[$0.key] ?? "" })::text[], \(traits.map(\.name))::text[],
                    \(traits.map(\.valueJSON))::text[], \(traits.map(\.updatedAt))::timestamptz[],
                    \(traits.map(\.sourceId))::text[], \(traits.map(\.messageId))::text[]) AS n(a, k, v, u, s, m)
                ON CONFLICT (account_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
                    source_id = excluded.source_id, message_id = excluded.message_id
                WHERE account_traits.updated_at <= excluded.updated_at
                """, logger: logger)
        }
        return ids
    }

    /// Merged-away profiles' accounts become the survivors' (the earliest link of each pair is kept).
    func moveLinks(losers: [String], survivors: [String], on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO account_links (account_id, profile_id, created_at, source_id, first_message_id)
            SELECT DISTINCT ON (l.account_id, m.s) l.account_id, m.s, l.created_at, l.source_id, l.first_message_id
            FROM account_links l JOIN unnest(\(losers)::text[], \(survivors)::text[]) AS m(l, s) ON l.profile_id = m.l
            ORDER BY l.account_id, m.s, l.created_at
            ON CONFLICT (account_id, profile_id) DO UPDATE SET created_at = excluded.created_at,
                source_id = excluded.source_id, first_message_id = excluded.first_message_id
            WHERE account_links.created_at > excluded.created_at
            """, logger: logger)
        try await connection.query("DELETE FROM account_links WHERE profile_id = ANY(\(losers))", logger: logger)
    }
}
