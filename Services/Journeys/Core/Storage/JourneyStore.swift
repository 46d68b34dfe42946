import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceKit

/// Journeys and their lifecycle: draft, publish (validated; each publish is a new immutable
/// version, optionally moving profiles already inside onto steps of the new one), pause, resume,
/// archive; and what the API reads (versions, per-step counts, a profile's passes).
public struct JourneyStore: Sendable {
    let db: PostgresClient
    let catalog: JourneyCatalog
    let writer: InstanceWriter
    let clock: any JourneyClock
    let onChange: @Sendable () -> Void
    /// Creates the topics destination steps write to (a broker may not create them on first use).
    let createTopics: @Sendable ([String]) async throws -> Void
    let logger: Logger

    public init(
        db: PostgresClient, catalog: JourneyCatalog, profiles: ProfileReplica, clock: any JourneyClock,
        onChange: @escaping @Sendable () -> Void,
        createTopics: @escaping @Sendable ([String]) async throws -> Void = { _ in },
        logger: Logger
    ) {
        self.createTopics = createTopics
        self.db = db
        self.catalog = catalog
        self.writer = InstanceWriter(profiles: profiles, logger: logger)
        self.clock = clock
        self.onChange = onChange
        self.logger = logger
    }

    public struct Record: Encodable, Sendable {
        var id: String
        var name: String
        var status: String
        var currentVersion: Int?
        var draft: JSONValue
        var firstPublishedAt: Date?
        var createdAt: Date
        var updatedAt: Date
    }

    public struct VersionRecord: Encodable, Sendable {
        var version: Int
        var definition: JSONValue
        var stepMapping: JSONValue?
        var publishedAt: Date
    }

    static let columns = "id, name, status, current_version, draft::text, first_published_at, created_at, updated_at"

    static func record(_ row: (String, String, String, Int?, String, Date?, Date, Date)) -> Record {
        Record(
            id: row.0, name: row.1, status: row.2, currentVersion: row.3,
            draft: (try? JSONParser.parse(Array(row.4.utf8))) ?? .null,
            firstPublishedAt: row.5, createdAt: row.6, updatedAt: row.7)
    }

    func create(spaceId: String, name: String, definition: JSONValue) async throws -> Record {
        let id = "jny_" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24))
        let now = clock.now()
        try await db.query(
            """
            INSERT INTO journeys (space_id, id, name, status, draft, created_at, updated_at)
            VALUES (\(spaceId), \(id), \(name), 'draft', \(definition.json)::jsonb, \(now), \(now))
            """, logger: logger)
        return Record(
            id: id, name: name, status: "draft", currentVersion: nil, draft: definition, firstPublishedAt: nil,
            createdAt: now, updatedAt: now)
    }

    func list(spaceId: String) async throws -> [Record] {
        var records: [Record] = []
        for try await row in try await db.query(
            """
            SELECT \(unescaped: Self.columns) FROM journeys WHERE space_id = \(spaceId) ORDER BY created_at, id LIMIT 1000
            """, logger: logger
        ).decode((String, String, String, Int?, String, Date?, Date, Date).self) {
            records.append(Self.record(row))
        }
        return records
    }

    func get(spaceId: String, id: String) async throws -> Record? {
        for try await row in try await db.query(
            """
            SELECT \(unescaped: Self.columns) FROM journeys WHERE space_id = \(spaceId) AND id = \(id)
            """, logger: logger
        ).decode((String, String, String, Int?, String, Date?, Date, Date).self) {
            return Self.record(row)
        }
        return nil
    }

    func updateDraft(spaceId: String, id: String, name: String?, definition: JSONValue?) async throws -> Record {
        for try await row in try await db.query(
            """
            UPDATE journeys SET name = coalesce(\(name), name), draft = coalesce(\(definition?.json)::jsonb, draft), updated_at = \(clock.now())
            WHERE space_id = \(spaceId) AND id = \(id) AND status <> 'archived'
            RETURNING \(unescaped: Self.columns)
            """, logger: logger
        ).decode((String, String, String, Int?, String, Date?, Date, Date).self) {
            return Self.record(row)
        }
        try await requireExists(spaceId: spaceId, id: id)
        throw APIError.conflict("journey \(id) is archived; archived journeys cannot change")
    }

    /// The draft's problems against the space's templates (empty: it would publish).
    func validate(spaceId: String, id: String) async throws -> [String] {
        guard let record = try await get(spaceId: spaceId, id: id) else {
            throw APIError.notFound("no journey \(id) in this space")
        }
        return try await validate(spaceId: spaceId, definition: record.draft)
    }

    /// A definition's problems against the space's templates and `pending` ones (empty: it would publish).
    func validate(spaceId: String, definition: JSONValue, pending: [String: JourneyParser.TemplateInfo] = [:])
        async throws -> [String]
    {
        let templates = try await templateInfo(spaceId: spaceId).merging(pending) { stored, _ in stored }
        if case .failure(let problems) = JourneyParser.parse(
            definition, templates: { templates[$0] }, checkTemplates: true)
        {
            return problems.items
        }
        return []
    }

    /// Publishes the draft as the next version. `stepMapping` (old step id -> new step id) moves
    /// the profiles waiting on those steps of the current version onto the new version; the others
    /// finish on the version they are on.
    func publish(spaceId: String, id: String, stepMapping: [String: String]) async throws -> Record {
        let templates = try await templateInfo(spaceId: spaceId)
        if let draft = try await get(spaceId: spaceId, id: id)?.draft,
            case .success(let parsed) = JourneyParser.parse(draft)
        {
            let topics = Set(
                parsed.steps.compactMap { step -> String? in
                    if case .destination(.topic(let topic), _) = step.kind { return topic }
                    return nil
                }
            ).sorted()
            if !topics.isEmpty {
                // Creating an existing topic is harmless; a broker that refuses (or creates topics on
                // first use) is told about it in the log, not the publisher.
                do { try await createTopics(topics) } catch {
                    logger.warning(
                        "destination topics not created", metadata: ["topics": "\(topics)", "error": "\(error)"])
                }
            }
        }
        let now = clock.now()
        let (record, entered) = try await db.transaction(logger: logger) { [self] connection -> (Record, Int) in
            var found: (status: String, current: Int?, draft: String, name: String)?
            for try await row in try await connection.query(
                """
                SELECT status, current_version, draft::text, name FROM journeys WHERE space_id = \(spaceId) AND id = \(id) FOR UPDATE
                """, logger: logger
            ).decode((String, Int?, String, String).self) {
                found = row
            }
            guard let found else { throw APIError.notFound("no journey \(id) in this space") }
            guard found.status != "archived" else {
                throw APIError.conflict("journey \(id) is archived; archived journeys cannot be published")
            }
            let draft = try JSONParser.parse(Array(found.draft.utf8))
            let definition: JourneyDefinition
            switch JourneyParser.parse(draft, templates: { templates[$0] }, checkTemplates: true) {
            case .success(let parsed): definition = parsed
            case .failure(let problems): throw Self.rejection(problems.items)
            }
            let version = (found.current ?? 0) + 1
            if !stepMapping.isEmpty {
                guard let previous = found.current,
                    let old = try await catalog.version(
                        spaceId: spaceId, journeyId: id, version: previous, on: connection)
                else {
                    throw Self.rejection(["stepMapping: there is no published version to map from"])
                }
                var problems: [String] = []
                for (from, to) in stepMapping.sorted(by: { $0.key < $1.key }) {
                    if old.definition.stepsById[from] == nil {
                        problems.append("stepMapping.\(from): version \(previous) has no step \"\(from)\"")
                    }
                    if definition.stepsById[to] == nil {
                        problems.append("stepMapping.\(from): the new version has no step \"\(to)\"")
                    }
                }
                if !problems.isEmpty { throw Self.rejection(problems) }
            }
            let mappingJSON: JSONValue? = stepMapping.isEmpty ? nil : .object(stepMapping.mapValues(JSONValue.string))
            try await connection.query(
                """
                INSERT INTO journey_versions (space_id, journey_id, version, definition, step_mapping, published_at)
                VALUES (\(spaceId), \(id), \(version), \(draft.json)::jsonb, \(mappingJSON?.json)::jsonb, \(now))
                """, logger: logger)
            var record: Record?
            for try await row in try await connection.query(
                """
                UPDATE journeys SET current_version = \(version), status = CASE WHEN status = 'draft' THEN 'published' ELSE status END,
                    first_published_at = coalesce(first_published_at, \(now)), revision = nextval('journey_revisions'), updated_at = \(now)
                WHERE space_id = \(spaceId) AND id = \(id)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger
            ).decode((String, String, String, Int?, String, Date?, Date, Date).self) {
                record = Self.record(row)
            }
            if let previous = found.current, !stepMapping.isEmpty {
                try await connection.query(
                    """
                    UPDATE paths p SET version = \(version), step_id = m.to_step, status = 'ready', due_at = \(now), resume_branch = NULL
                    FROM unnest(\(Array(stepMapping.keys))::text[], \(Array(stepMapping.values))::text[]) AS m(from_step, to_step)
                    WHERE p.space_id = \(spaceId) AND p.journey_id = \(id) AND p.version = \(previous) AND p.status <> 'done' AND p.step_id = m.from_step
                    """, logger: logger)
                try await connection.query(
                    """
                    UPDATE instances i SET version = \(version)
                    WHERE i.space_id = \(spaceId) AND i.journey_id = \(id) AND i.status = 'active' AND i.version = \(previous)
                        AND EXISTS (SELECT 1 FROM paths p WHERE p.space_id = i.space_id AND p.instance_id = i.id AND p.version = \(version))
                    """, logger: logger)
            }
            var entered = 0
            if found.current == nil, case .audience(let audienceId, true) = definition.entry {
                entered = try await enterExistingMembers(
                    spaceId: spaceId, journeyId: id, name: found.name, version: version, definition: definition,
                    audienceId: audienceId, now: now, on: connection)
            }
            return (record!, entered)
        }
        catalog.invalidate()
        onChange()
        if entered > 0 {
            logger.info(
                "existing audience members entered the journey",
                metadata: ["journey_id": "\(id)", "count": "\(entered)"])
        }
        return record
    }

    /// On first publication, with `includeExistingMembers`: everyone in the audience now enters.
    private func enterExistingMembers(
        spaceId: String, journeyId: String, name: String, version: Int, definition: JourneyDefinition,
        audienceId: String, now: Date, on connection: PostgresConnection
    ) async throws -> Int {
        var members: [String] = []
        for try await profileId in try await connection.query(
            """
            SELECT profile_id FROM audience_members WHERE space_id = \(spaceId) AND audience_id = \(audienceId) ORDER BY profile_id
            """, logger: logger
        ).decode(String.self) {
            members.append(profileId)
        }
        let journey = JourneyRef(
            spaceId: spaceId, journeyId: journeyId, name: name, version: version, definition: definition)
        var entered = 0
        for chunk in stride(from: 0, to: members.count, by: 500).map({
            Array(members[$0..<min($0 + 500, members.count)])
        }) {
            let candidates = chunk.map {
                InstanceWriter.Candidate(
                    journey: journey, profileId: $0, triggerId: "existing-member:\(audienceId)",
                    trigger: ["audienceId": .string(audienceId), "existingMember": true])
            }
            let events = try await writer.enter(candidates, now: now, on: connection)
            entered += events.count
            try await Outbox.enqueue(events.map { try $0.outbox() }, on: connection, logger: logger)
        }
        return entered
    }

    enum Transition: String {
        case pause, resume, archive
    }

    func transition(_ transition: Transition, spaceId: String, id: String) async throws -> Record {
        let allowed: [String]
        let target: String
        switch transition {
        case .pause: (allowed, target) = (["published"], "paused")
        case .resume: (allowed, target) = (["paused"], "published")
        case .archive: (allowed, target) = (["draft", "published", "paused"], "archived")
        }
        let now = clock.now()
        let record = try await db.transaction(logger: logger) { [self] connection -> Record? in
            var record: Record?
            for try await row in try await connection.query(
                """
                UPDATE journeys SET status = \(target), revision = nextval('journey_revisions'), updated_at = \(now)
                WHERE space_id = \(spaceId) AND id = \(id) AND status = ANY(\(allowed))
                RETURNING \(unescaped: Self.columns)
                """, logger: logger
            ).decode((String, String, String, Int?, String, Date?, Date, Date).self) {
                record = Self.record(row)
            }
            // Archiving ends every pass still running.
            if record != nil, transition == .archive {
                var exits: [InstanceWriter.Exit] = []
                for try await instanceId in try await connection.query(
                    """
                    SELECT id FROM instances WHERE space_id = \(spaceId) AND journey_id = \(id) AND status = 'active'
                    """, logger: logger
                ).decode(String.self) {
                    exits.append(.init(spaceId: spaceId, instanceId: instanceId))
                }
                var counter = StepCounter()
                let events = try await writer.exit(
                    exits, reason: "archived", catalog: catalog, counter: &counter, now: now, on: connection)
                try await counter.flush(on: connection, logger: logger)
                try await Outbox.enqueue(events.map { try $0.outbox() }, on: connection, logger: logger)
            }
            return record
        }
        guard let record else {
            guard let existing = try await get(spaceId: spaceId, id: id) else {
                throw APIError.notFound("no journey \(id) in this space")
            }
            throw APIError.conflict(
                "journey \(id) is \(existing.status); \(transition.rawValue) applies to \(allowed.joined(separator: " or ")) journeys"
            )
        }
        catalog.invalidate()
        onChange()
        return record
    }

    func versions(spaceId: String, id: String) async throws -> [VersionRecord] {
        try await requireExists(spaceId: spaceId, id: id)
        var versions: [VersionRecord] = []
        for try await (version, definition, mapping, publishedAt) in try await db.query(
            """
            SELECT version, definition::text, step_mapping::text, published_at FROM journey_versions
            WHERE space_id = \(spaceId) AND journey_id = \(id) ORDER BY version
            """, logger: logger
        ).decode((Int, String, String?, Date).self) {
            versions.append(
                VersionRecord(
                    version: version, definition: (try? JSONParser.parse(Array(definition.utf8))) ?? .null,
                    stepMapping: mapping.flatMap { try? JSONParser.parse(Array($0.utf8)) }, publishedAt: publishedAt))
        }
        return versions
    }

    private func requireExists(spaceId: String, id: String) async throws {
        guard try await get(spaceId: spaceId, id: id) != nil else {
            throw APIError.notFound("no journey \(id) in this space")
        }
    }

    private func templateInfo(spaceId: String) async throws -> [String: JourneyParser.TemplateInfo] {
        var templates: [String: JourneyParser.TemplateInfo] = [:]
        for try await (id, channel, version) in try await db.query(
            """
            SELECT template_id, channel, current_version FROM templates WHERE space_id = \(spaceId) AND NOT deleted
            """, logger: logger
        ).decode((String, String, Int).self) {
            guard let channel = SubscriptionChannel(rawValue: channel) else { continue }
            templates[id] = .init(channel: channel, currentVersion: version)
        }
        return templates
    }

    static func rejection(_ problems: [String]) -> APIError {
        APIError(
            .unprocessableContent, code: "invalid_journey",
            message:
                "the journey cannot be published: \(problems.count) problem\(problems.count == 1 ? "" : "s"): \(problems.joined(separator: "; "))",
            problems: problems)
    }
}
