import Contracts
import Foundation
import Logging
import PostgresNIO

/// Reads for the API: a contact's states on every channel and group, and its change history.
public struct StateReader: Sendable {
    let db: PostgresClient
    let logger: Logger

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    public struct GroupState: Encodable, Sendable {
        public var id: String
        public var name: String
        public var status: SubscriptionStatus
        /// What a sender must honour: `unsubscribed` while the global email state is unsubscribed.
        public var effectiveStatus: SubscriptionStatus
        public var changedAt: Date
        public var source: String
        public var origin: String?
    }

    /// "No status" is an explicit null, so readers need not know which keys may be missing.
    public struct ChannelState: Encodable, Sendable, EncodesAbsentAsNull {
        public var type: SubscriptionChannel
        /// nil: no status.
        public var status: SubscriptionStatus?
        public var optedOutByReply: Bool
        public var changedAt: Date?
        public var source: String?
        public var origin: String?
        public var commandId: String?
        public var groups: [GroupState]?

        /// Email's groups; other channels have none.
        public static var membersOmittedWhenAbsent: Set<String> { ["groups"] }
    }

    public struct ContactStates: Encodable, Sendable {
        public var key: String
        public var channels: [ChannelState]
    }

    /// A key with `@` is an email address (EMAIL), anything else a phone number (SMS and WHATSAPP).
    public static func normalizedKey(_ raw: String) throws(InvalidContact) -> (String, [SubscriptionChannel]) {
        if raw.contains("@") { return (try ContactNormalizer.email(raw), [.email]) }
        return (try ContactNormalizer.phone(raw), [.sms, .whatsapp])
    }

    public func states(spaceId: String, key rawKey: String) async throws -> ContactStates {
        let (key, channels) = try Self.normalizedKey(rawKey)
        var byChannel: [SubscriptionChannel: ChannelState] = [:]
        for channel in channels {
            byChannel[channel] = ChannelState(
                type: channel, optedOutByReply: false, groups: channel == .email ? [] : nil)
        }
        var groupRows: [(String, String, SubscriptionStatus, Date, String, String?)] = []
        for try await (channel, groupId, groupName, status, byReply, changedAt, source, origin, commandId)
            in try await db.query(
                """
                SELECT s.channel, s.group_id, g.name, s.status, s.opted_out_by_reply, s.status_changed_at, s.status_source, s.status_origin, s.status_command_id
                FROM states s LEFT JOIN groups g ON g.space_id = s.space_id AND g.id = s.group_id
                WHERE s.space_id = \(spaceId) AND s.contact = \(key) AND (s.group_id = '' OR g.deleted_at IS NULL)
                ORDER BY s.channel, g.created_at, s.group_id
                """, logger: logger
            ).decode((String, String, String?, String, Bool, Date, String, String?, String).self)
        {
            guard let channel = SubscriptionChannel(rawValue: channel),
                let status = SubscriptionStatus(rawValue: status),
                byChannel[channel] != nil
            else { continue }
            if groupId.isEmpty {
                byChannel[channel] = ChannelState(
                    type: channel, status: status, optedOutByReply: byReply, changedAt: changedAt, source: source,
                    origin: origin, commandId: commandId, groups: byChannel[channel]?.groups)
            } else if let groupName {
                groupRows.append((groupId, groupName, status, changedAt, source, origin))
            }
        }
        let globalUnsubscribed = byChannel[.email]?.status == .unsubscribed
        byChannel[.email]?.groups = groupRows.map { id, name, status, changedAt, source, origin in
            GroupState(
                id: id, name: name, status: status, effectiveStatus: globalUnsubscribed ? .unsubscribed : status,
                changedAt: changedAt, source: source, origin: origin)
        }
        return ContactStates(key: key, channels: channels.compactMap { byChannel[$0] })
    }

    public struct HistoryEntry: Encodable, Sendable, EncodesAbsentAsNull {
        public var id: Int64
        public var type: SubscriptionChannel
        public var group: SubscriptionChange.GroupRef?
        public var previousStatus: SubscriptionStatus?
        public var status: SubscriptionStatus
        public var source: String
        public var origin: String?
        public var commandId: String
        public var occurredAt: Date
        public var recordedAt: Date
    }

    /// Newest first; `before` is the `id` of the last entry of the previous page.
    public func history(spaceId: String, key rawKey: String, before: Int64?, limit: Int) async throws -> [HistoryEntry]
    {
        let (key, _) = try Self.normalizedKey(rawKey)
        var entries: [HistoryEntry] = []
        for try await (
            id, channel, groupId, groupName, previous, status, source, origin, commandId, occurredAt, recordedAt
        ) in try await db.query(
            """
            SELECT id, channel, group_id, group_name, previous_status, status, source, origin, command_id, occurred_at, recorded_at
            FROM changes WHERE space_id = \(spaceId) AND contact = \(key) AND id < \(before ?? Int64.max)
            ORDER BY id DESC LIMIT \(limit)
            """, logger: logger
        ).decode((Int64, String, String, String?, String?, String, String, String?, String, Date, Date).self) {
            guard let channel = SubscriptionChannel(rawValue: channel),
                let status = SubscriptionStatus(rawValue: status)
            else { continue }
            entries.append(
                HistoryEntry(
                    id: id, type: channel,
                    group: groupId.isEmpty ? nil : SubscriptionChange.GroupRef(id: groupId, name: groupName ?? ""),
                    previousStatus: previous.flatMap(SubscriptionStatus.init(rawValue:)), status: status,
                    source: source, origin: origin,
                    commandId: commandId, occurredAt: occurredAt, recordedAt: recordedAt))
        }
        return entries
    }
}
