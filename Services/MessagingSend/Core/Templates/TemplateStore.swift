import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import Synchronization

/// A template as the API shows it: its current (or a chosen) version's content.
public struct TemplateRecord: Codable, Sendable {
    public var id: String
    public var name: String
    public var channel: SubscriptionChannel
    public var purpose: MessagePurpose
    public var version: Int
    public var currentVersion: Int
    public var content: TemplateContent
    public var createdAt: Date
    public var updatedAt: Date
}

public struct TemplateVersionSummary: Codable, Sendable {
    public var version: Int
    public var createdAt: Date
}

/// Templates and their versions. A version never changes once written (sends record the version
/// they used), so versions are cached without expiry; "which version is current" for a short time.
public final class TemplateStore: Sendable {
    private let db: PostgresClient
    private let logger: Logger
    private let versions = Mutex<
        [String: (channel: SubscriptionChannel, purpose: MessagePurpose, content: TemplateContent)]
    >([:])
    private let current = Mutex<[String: (version: Int, at: ContinuousClock.Instant)]>([:])

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    enum StoreError: Error {
        case duplicateName(String)
    }

    func create(
        spaceId: String, name: String, channel: SubscriptionChannel, purpose: MessagePurpose, content: TemplateContent
    ) async throws -> TemplateRecord {
        let id = "tpl_" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24))
        let json = try WireEncoder.string(content)
        let now = Date()
        do {
            try await db.transaction(logger: logger) { [self] connection in
                try await connection.query(
                    """
                    INSERT INTO templates (space_id, id, channel, name, purpose, current_version, created_at, updated_at)
                    VALUES (\(spaceId), \(id), \(channel.rawValue), \(name), \(purpose.rawValue), 1, \(now), \(now))
                    """, logger: logger)
                try await connection.query(
                    """
                    INSERT INTO template_versions (space_id, template_id, version, content, created_at) VALUES (\(spaceId), \(id), 1, \(json)::jsonb, \(now))
                    """, logger: logger)
                try await announce(
                    TemplateChange(
                        spaceId: spaceId, templateId: id, name: name, channel: channel, purpose: purpose,
                        currentVersion: 1, deleted: false, occurredAt: now), on: connection)
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw StoreError.duplicateName(name)
        }
        return TemplateRecord(
            id: id, name: name, channel: channel, purpose: purpose, version: 1, currentVersion: 1, content: content,
            createdAt: now, updatedAt: now)
    }

    /// Writes a new version (and optionally a new name); nil when there is no such template.
    func update(spaceId: String, id: String, name: String?, content: TemplateContent) async throws -> TemplateRecord? {
        let json = try WireEncoder.string(content)
        let now = Date()
        do {
            let version: Int? = try await db.transaction(logger: logger) { [self] connection in
                var updated: (version: Int, name: String, channel: String, purpose: String)?
                for try await row in try await connection.query(
                    """
                    UPDATE templates SET current_version = current_version + 1, name = coalesce(\(name), name), updated_at = \(now)
                    WHERE space_id = \(spaceId) AND id = \(id) AND deleted_at IS NULL RETURNING current_version, name, channel, purpose
                    """, logger: logger
                ).decode((Int, String, String, String).self) {
                    updated = row
                }
                guard let updated else { return nil }
                let version = updated.version
                try await connection.query(
                    """
                    INSERT INTO template_versions (space_id, template_id, version, content, created_at)
                    VALUES (\(spaceId), \(id), \(version), \(json)::jsonb, \(now))
                    """, logger: logger)
                try await announce(
                    TemplateChange(
                        spaceId: spaceId, templateId: id, name: updated.name,
                        channel: SubscriptionChannel(rawValue: updated.channel) ?? .email,
                        purpose: MessagePurpose(rawValue: updated.purpose) ?? .marketing,
                        currentVersion: version, deleted: false, occurredAt: now), on: connection)
                return version
            }
            guard version != nil else { return nil }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw StoreError.duplicateName(name ?? "")
        }
        current.withLock { _ = $0.removeValue(forKey: "\(spaceId)|\(id)") }
        return try await record(spaceId: spaceId, id: id, version: nil)
    }

    func delete(spaceId: String, id: String) async throws -> Bool {
        let now = Date()
        let deleted = try await db.transaction(logger: logger) { [self] connection -> Bool in
            for try await (name, channel, purpose, version) in try await connection.query(
                """
                UPDATE templates SET deleted_at = \(now) WHERE space_id = \(spaceId) AND id = \(id) AND deleted_at IS NULL
                RETURNING name, channel, purpose, current_version
                """, logger: logger
            ).decode((String, String, String, Int).self) {
                try await announce(
                    TemplateChange(
                        spaceId: spaceId, templateId: id, name: name,
                        channel: SubscriptionChannel(rawValue: channel) ?? .email,
                        purpose: MessagePurpose(rawValue: purpose) ?? .marketing, currentVersion: version,
                        deleted: true, occurredAt: now), on: connection)
                return true
            }
            return false
        }
        current.withLock { _ = $0.removeValue(forKey: "\(spaceId)|\(id)") }
        return deleted
    }

    /// Tells other services (journeys, broadcasts) about the change, atomically with it.
    private func announce(_ change: TemplateChange, on connection: PostgresConnection) async throws {
        try await Outbox.enqueue(
            [
                try OutboxMessage(
                    topic: Topic.templates, key: change.key, event: change, contract: TemplateChange.contract)
            ],
            on: connection, logger: logger)
    }

    /// The template with its current version's content, or the given version's.
    func record(spaceId: String, id: String, version: Int?) async throws -> TemplateRecord? {
        let rows = try await db.query(
            """
            SELECT t.name, t.channel, t.purpose, v.version, t.current_version, v.content::text, t.created_at, t.updated_at
            FROM templates t JOIN template_versions v ON v.space_id = t.space_id AND v.template_id = t.id
                AND v.version = coalesce(\(version), t.current_version)
            WHERE t.space_id = \(spaceId) AND t.id = \(id) AND t.deleted_at IS NULL
            """, logger: logger)
        for try await (name, channel, purpose, version, currentVersion, content, createdAt, updatedAt)
            in rows.decode((String, String, String, Int, Int, String, Date, Date).self)
        {
            return TemplateRecord(
                id: id, name: name, channel: SubscriptionChannel(rawValue: channel) ?? .email,
                purpose: MessagePurpose(rawValue: purpose) ?? .marketing, version: version,
                currentVersion: currentVersion,
                content: try WireDecoder.decode(TemplateContent.self, from: content.utf8),
                createdAt: createdAt, updatedAt: updatedAt)
        }
        return nil
    }

    func list(spaceId: String, channel: SubscriptionChannel?) async throws -> [TemplateRecord] {
        var ids: [String] = []
        for try await id in try await db.query(
            """
            SELECT id FROM templates WHERE space_id = \(spaceId) AND deleted_at IS NULL AND (\(channel?.rawValue)::text IS NULL OR channel = \(channel?.rawValue))
            ORDER BY created_at, id LIMIT 1000
            """, logger: logger
        ).decode(String.self) {
            ids.append(id)
        }
        var records: [TemplateRecord] = []
        for id in ids {
            if let record = try await record(spaceId: spaceId, id: id, version: nil) { records.append(record) }
        }
        return records
    }

    /// A live template's versions (none for a deleted one, as it is gone from the API).
    func versionList(spaceId: String, id: String) async throws -> [TemplateVersionSummary] {
        var list: [TemplateVersionSummary] = []
        for try await (version, createdAt) in try await db.query(
            """
            SELECT v.version, v.created_at FROM template_versions v
            JOIN templates t ON t.space_id = v.space_id AND t.id = v.template_id AND t.deleted_at IS NULL
            WHERE v.space_id = \(spaceId) AND v.template_id = \(id) ORDER BY v.version
            """, logger: logger
        ).decode((Int, Date).self) {
            list.append(TemplateVersionSummary(version: version, createdAt: createdAt))
        }
        return list
    }

    /// What a send needs: the version to use (the current one when nil) and its content. Deleted
    /// templates still send the versions already requested (a journey's queued messages).
    func forSend(spaceId: String, id: String, version: Int?) async throws -> (
        version: Int, channel: SubscriptionChannel, purpose: MessagePurpose, content: TemplateContent
    )? {
        var resolved = version
        if resolved == nil {
            let key = "\(spaceId)|\(id)"
            if let hit = current.withLock({ $0[key] }), ContinuousClock.now - hit.at < .seconds(2) {
                resolved = hit.version
            } else {
                for try await v in try await db.query(
                    """
                    SELECT current_version FROM templates WHERE space_id = \(spaceId) AND id = \(id) AND deleted_at IS NULL
                    """, logger: logger
                ).decode(Int.self) {
                    resolved = v
                }
                guard let found = resolved else { return nil }
                current.withLock { cache in
                    if cache.count > 10_000 { cache.removeAll() }
                    cache[key] = (found, .now)
                }
            }
        }
        guard let resolved else { return nil }
        let key = "\(spaceId)|\(id)|\(resolved)"
        if let hit = versions.withLock({ $0[key] }) { return (resolved, hit.channel, hit.purpose, hit.content) }
        let rows = try await db.query(
            """
            SELECT t.channel, t.purpose, v.content::text FROM template_versions v JOIN templates t ON t.space_id = v.space_id AND t.id = v.template_id
            WHERE v.space_id = \(spaceId) AND v.template_id = \(id) AND v.version = \(resolved)
            """, logger: logger)
        for try await (channel, purpose, content) in rows.decode((String, String, String).self) {
            let value = (
                channel: SubscriptionChannel(rawValue: channel) ?? .email,
                purpose: MessagePurpose(rawValue: purpose) ?? .marketing,
                content: try WireDecoder.decode(TemplateContent.self, from: content.utf8)
            )
            versions.withLock { cache in
                if cache.count > 10_000 { cache.removeAll() }
                cache[key] = value
            }
            return (resolved, value.channel, value.purpose, value.content)
        }
        return nil
    }
}
