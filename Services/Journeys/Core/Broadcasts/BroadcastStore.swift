import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceKit

/// Broadcasts: one send of a template to an audience, now or at a set time. Membership is
/// snapshotted once when sending starts; later joiners are not included, leavers still get it.
public struct BroadcastStore: Sendable {
    let db: PostgresClient
    let clock: any JourneyClock
    let onChange: @Sendable () -> Void
    let logger: Logger

    public init(db: PostgresClient, clock: any JourneyClock, onChange: @escaping @Sendable () -> Void, logger: Logger) {
        self.db = db
        self.clock = clock
        self.onChange = onChange
        self.logger = logger
    }

    public struct Draft: Sendable {
        var name: String
        var audienceId: String
        var channel: SubscriptionChannel
        var templateId: String
        var templateVersion: Int?
        var purpose: MessagePurpose
        var group: String?
        var scheduledAt: Date?
        var throttlePerMinute: Int?
    }

    public struct Record: Encodable, Sendable {
        var id: String
        var name: String
        var audienceId: String
        var channel: String
        var templateId: String
        var templateVersion: Int?
        var purpose: String
        var group: String?
        var throttlePerMinute: Int?
        /// scheduled, sending, completed or cancelled.
        var status: String
        var scheduledAt: Date
        var startedAt: Date?
        var finishedAt: Date?
        var cancelledAt: Date?
        /// The snapshot's size, and how many message requests went out so far.
        var recipients: Int64
        var requested: Int64
        /// Message outcomes reported by messaging-send: sent, delivered, opened, clicked, skipped, failed...
        var outcomes: [String: Int64]
        var createdAt: Date
    }

    static let columns = """
        id, name, audience_id, channel, template_id, template_version, purpose, group_name, throttle_per_minute, status, scheduled_at,
        started_at, finished_at, cancelled_at, recipients, requested, created_at
        """
    typealias Row = (
        String, String, String, String, String, Int?, String, String?, Int?, String, Date, Date?, Date?, Date?, Int64,
        Int64, Date
    )

    static func record(_ r: Row) -> Record {
        Record(
            id: r.0, name: r.1, audienceId: r.2, channel: r.3, templateId: r.4, templateVersion: r.5, purpose: r.6,
            group: r.7,
            throttlePerMinute: r.8, status: r.9, scheduledAt: r.10, startedAt: r.11, finishedAt: r.12,
            cancelledAt: r.13,
            recipients: r.14, requested: r.15, outcomes: [:], createdAt: r.16)
    }

    /// `draft.audienceId` may be the audience's id or key (as the audiences API takes either); an
    /// audience that does not exist is a problem like the others, not a broadcast that "completes"
    /// having sent nothing.
    func create(spaceId: String, _ draft: Draft) async throws -> Record {
        var draft = draft
        var problems: [String] = []
        if let audience = try await AudienceCatalogReplica(db: db, logger: logger).find(
            spaceId: spaceId, idOrKey: draft.audienceId)
        {
            draft.audienceId = audience.audienceId
        } else {
            problems.append("audienceId: \(AudienceCatalogReplica.unknown(draft.audienceId))")
        }
        var template: (channel: String, version: Int)?
        for try await row in try await db.query(
            """
            SELECT channel, current_version FROM templates WHERE space_id = \(spaceId) AND template_id = \(draft.templateId) AND NOT deleted
            """, logger: logger
        ).decode((String, Int).self) {
            template = row
        }
        if let template {
            if template.channel != draft.channel.rawValue {
                problems.append(
                    "templateId: template \(draft.templateId) is a \(template.channel) template, the broadcast sends \(draft.channel.rawValue)"
                )
            }
            if let version = draft.templateVersion, version > template.version {
                problems.append("templateVersion: template \(draft.templateId) has versions 1 to \(template.version)")
            }
        } else {
            problems.append("templateId: template \(draft.templateId) does not exist in this space")
        }
        if let throttle = draft.throttlePerMinute, throttle < 1 || throttle > 1_000_000 {
            problems.append("throttlePerMinute: must be between 1 and 1000000")
        }
        if draft.group != nil && draft.channel != .email { problems.append("group: groups exist on EMAIL only") }
        guard problems.isEmpty else {
            throw APIError(
                .unprocessableContent, code: "invalid_broadcast", message: problems.joined(separator: "; "),
                problems: problems)
        }
        let id = "bc_" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24))
        let now = clock.now()
        var record: Record?
        for try await row in try await db.query(
            """
            INSERT INTO broadcasts (space_id, id, name, audience_id, channel, template_id, template_version, purpose, group_name, throttle_per_minute,
                                    status, scheduled_at, created_at)
            VALUES (\(spaceId), \(id), \(draft.name), \(draft.audienceId), \(draft.channel.rawValue), \(draft.templateId), \(draft.templateVersion),
                    \(draft.purpose.rawValue), \(draft.group), \(draft.throttlePerMinute), 'scheduled', \(draft.scheduledAt ?? now), \(now))
            RETURNING \(unescaped: Self.columns)
            """, logger: logger
        ).decode(Row.self) {
            record = Self.record(row)
        }
        onChange()
        return record!
    }

    func list(spaceId: String) async throws -> [Record] {
        var records: [Record] = []
        for try await row in try await db.query(
            """
            SELECT \(unescaped: Self.columns) FROM broadcasts WHERE space_id = \(spaceId) ORDER BY created_at DESC, id LIMIT 500
            """, logger: logger
        ).decode(Row.self) {
            records.append(Self.record(row))
        }
        return records
    }

    func get(spaceId: String, id: String) async throws -> Record? {
        var record: Record?
        for try await row in try await db.query(
            """
            SELECT \(unescaped: Self.columns) FROM broadcasts WHERE space_id = \(spaceId) AND id = \(id)
            """, logger: logger
        ).decode(Row.self) {
            record = Self.record(row)
        }
        guard var found = record else { return nil }
        for try await (outcome, count) in try await db.query(
            """
            SELECT outcome, count(*) FROM broadcast_outcomes WHERE space_id = \(spaceId) AND broadcast_id = \(id) GROUP BY outcome
            """, logger: logger
        ).decode((String, Int64).self) {
            found.outcomes[outcome] = count
        }
        return found
    }

    func audienceSize(spaceId: String, audienceId: String) async throws -> Int64 {
        var size: Int64 = 0
        for try await count in try await db.query(
            """
            SELECT count(*) FROM audience_members WHERE space_id = \(spaceId) AND audience_id = \(audienceId)
            """, logger: logger
        ).decode(Int64.self) {
            size = count
        }
        return size
    }

    /// Stops a broadcast that has not finished: requests already sent stay sent, no more go out.
    func cancel(spaceId: String, id: String) async throws -> Record {
        var cancelled = false
        for try await _ in try await db.query(
            """
            UPDATE broadcasts SET status = 'cancelled', cancelled_at = \(clock.now()), finished_at = \(clock.now())
            WHERE space_id = \(spaceId) AND id = \(id) AND status IN ('scheduled', 'sending') RETURNING 1
            """, logger: logger)
        {
            cancelled = true
        }
        guard let record = try await get(spaceId: spaceId, id: id) else {
            throw APIError.notFound("no broadcast \(id) in this space")
        }
        guard cancelled else {
            throw APIError.conflict(
                "broadcast \(id) is \(record.status); only a scheduled or sending broadcast can be cancelled")
        }
        return record
    }
}
