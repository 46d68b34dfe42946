import Contracts
import Logging
import PostgresNIO

/// A service's replica of consent states from `engage.subscription-changes`, in its own
/// `subscription_states (space_id, channel, contact, group_name, status, recorded_at)` table:
/// the newest change per state wins (changes of one contact may arrive out of order).
public enum SubscriptionStateReplica {
    public static func apply(_ change: SubscriptionChange, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        let group = change.group?.name.lowercased() ?? ""
        try await connection.query(
            """
            INSERT INTO subscription_states (space_id, channel, contact, group_name, status, recorded_at)
            VALUES (\(change.spaceId), \(change.channel.rawValue), \(change.contact), \(group), \(change.status.rawValue), \(change.recordedAt))
            ON CONFLICT (space_id, channel, contact, group_name) DO UPDATE SET status = excluded.status, recorded_at = excluded.recorded_at
            WHERE subscription_states.recorded_at <= excluded.recorded_at
            """, logger: logger)
    }
}
