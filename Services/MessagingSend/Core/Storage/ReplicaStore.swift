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
    let profileReplica: ProfileReplica
    let logger: Logger

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.profileReplica = ProfileReplica(db: db, keepsTraits: true, lockName: "messaging_send", logger: logger)
        self.logger = logger
    }

    func lockProfiles(on connection: PostgresConnection) async throws {
        try await profileReplica.lockWrites(on: connection)
    }

    func apply(_ update: ProfileUpdate, on connection: PostgresConnection) async throws {
        try await profileReplica.apply(update, on: connection)
    }

    func apply(_ change: SubscriptionChange, on connection: PostgresConnection) async throws {
        try await SubscriptionStateReplica.apply(change, on: connection, logger: logger)
    }

    /// Profiles by id, following merges (a request may name a profile that was merged since).
    func profiles(spaceId: String, ids: [String]) async throws -> [String: ProfileSnapshot] {
        try await profileReplica.profiles(spaceId: spaceId, ids: ids)
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
        let rows = try await db.query(
            """
            SELECT s.channel, s.contact, s.group_name, s.status FROM subscription_states s
            JOIN unnest(\(keys.map(\.channel.rawValue))::text[], \(keys.map(\.contact))::text[], \(keys.map(\.group))::text[]) AS k(c, a, g)
              ON s.space_id = \(spaceId) AND s.channel = k.c AND s.contact = k.a AND s.group_name = k.g
            """, logger: logger)
        for try await (channel, contact, group, status) in rows.decode((String, String, String, String).self) {
            guard let channel = SubscriptionChannel(rawValue: channel),
                let status = SubscriptionStatus(rawValue: status)
            else { continue }
            found[StateKey(channel: channel, contact: contact, group: group)] = status
        }
        return found
    }

    /// The profile whose phone this is (inbound replies), if known.
    func profileId(spaceId: String, phone: String) async throws -> String? {
        try await profileReplica.profileIds(spaceId: spaceId, contacts: [phone])[phone]
    }
}
