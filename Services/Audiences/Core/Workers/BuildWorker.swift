import Contracts
import Foundation
import Liveness
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// Builds a new audience or computed-trait version over the history, then makes it live.
///
/// The history is this service's own event log (not a replay of `engage.profile-events`): it is
/// indexed by event name, so a build reads only the events its conditions name; it outlives the
/// topic's retention; and it is already deduplicated. The steps:
/// 1. take the definitions barrier: from then on, every live batch feeds the new version's state;
/// 2. scan the log for the version's events and merge what they contribute into each profile's
///    state. Entries are united by event id, so an event that the live stream also added is not
///    counted twice, and one that arrived after the scan's snapshot was added by the live stream;
/// 3. make the version live (under the barrier again), so live batches evaluate it from then on;
/// 4. evaluate every profile once, publishing the resulting entries and exits.
/// A build whose owner stops heart-beating is taken over and redone from the start; every step
/// is idempotent.
public struct BuildWorker: Service {
    let db: PostgresClient
    let definitions: DefinitionCache
    let store: StateStore
    let instanceId: String
    let wakeups = Wakeups()
    let pageSize: Int
    let logger: Logger

    public init(
        db: PostgresClient, definitions: DefinitionCache, store: StateStore, pageSize: Int = 1_000, logger: Logger
    ) {
        self.db = db
        self.definitions = definitions
        self.store = store
        self.instanceId = "builder-" + UUID().uuidString.prefix(8).lowercased()
        self.pageSize = pageSize
        self.logger = logger
    }

    public func wake() { wakeups.wake() }

    struct Build {
        var id: Int64
        var spaceId: String
        var kind: String
        var targetId: String
        var version: Int

        /// The definition this build makes live; nil for a teardown.
        var definitionKind: DefinitionStore.Kind? { DefinitionStore.Kind(rawValue: kind) }
    }

    /// The build kind that takes a deleted audience's members out of it.
    static let audienceTeardown = "audience_teardown"

    struct Superseded: Error {}

    public func run() async throws {
        // A saved definition wakes the worker; the unprompted runs take over builds of instances
        // that died, at most 5 s late once idle.
        await wakeups.run(every: .seconds(1), idleUpTo: .seconds(5), loop: "audience builds") {
            var found = false
            while !Task.isCancelled {
                let build: Build?
                do { build = try await claim() } catch {
                    logger.warning("cannot claim builds", metadata: ["error": "\(String(reflecting: error))"])
                    return true
                }
                guard let build else { return found }
                found = true
                do {
                    try await perform(build)
                } catch is Superseded {
                    continue
                } catch {
                    // A deadlock or a lost connection: give the build back, so that the next pass
                    // (here or on another instance) redoes it rather than waiting for the lease.
                    logger.error(
                        "build failed; it will be redone",
                        metadata: ["build": "\(build.id)", "error": "\(String(reflecting: error))"])
                    _ = try? await db.query(
                        "UPDATE builds SET owner = NULL WHERE id = \(build.id) AND owner = \(instanceId)",
                        logger: logger)
                    return true
                }
            }
            return found
        }
    }

    func claim() async throws -> Build? {
        for try await (id, spaceId, kind, targetId, version) in try await db.query(
            """
            UPDATE builds SET owner = \(instanceId), heartbeat_at = now(), started_at = coalesce(started_at, now()),
                events_scanned = 0, profiles_evaluated = 0, entered = 0, exited = 0
            WHERE id = (SELECT id FROM builds WHERE phase NOT IN ('done', 'failed', 'superseded')
                        AND (owner IS NULL OR heartbeat_at < now() - interval '30 seconds')
                        ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING id, space_id, target_kind, target_id, version
            """, logger: logger
        ).decode((Int64, String, String, String, Int).self) {
            return Build(id: id, spaceId: spaceId, kind: kind, targetId: targetId, version: version)
        }
        return nil
    }

    func perform(_ build: Build) async throws {
        let started = ContinuousClock.now
        logger.info(
            "build started",
            metadata: [
                "build": "\(build.id)", "kind": "\(build.kind)", "target": "\(build.targetId)",
                "version": "\(build.version)",
            ])
        if build.kind == Self.audienceTeardown {
            try await teardown(build)
        } else {
            try await barrier()
            try await setPhase(build, "scanning")
            try await scan(build)
            try await goLive(build)
            try await evaluateAll(build)
        }
        try await db.query(
            """
            UPDATE builds SET phase = 'done', finished_at = now(), heartbeat_at = now() WHERE id = \(build.id) AND owner = \(instanceId)
            """, logger: logger)
        logger.info("build done", metadata: ["build": "\(build.id)", "seconds": "\(ContinuousClock.now - started)"])
    }

    private func barrier() async throws {
        try await db.transaction(logger: logger) { [self] connection in
            try await DefinitionCache.enterExclusive(on: connection, logger: logger)
        }
    }

    /// Progress, and the heartbeat that keeps the build ours; a build that lost its owner or its
    /// reason to exist stops here.
    private func setPhase(
        _ build: Build, _ phase: String? = nil, scanned: Int64? = nil, total: Int64? = nil,
        evaluated: Int64? = nil, profilesTotal: Int64? = nil, entered: Int64 = 0, exited: Int64 = 0
    ) async throws {
        LoopProgress.current?.progressed()  // a long scan commits nothing for a while
        var still = false
        for try await _ in try await db.query(
            """
            UPDATE builds SET heartbeat_at = now(), phase = coalesce(\(phase), phase),
                events_scanned = coalesce(\(scanned), events_scanned), events_total = coalesce(\(total), events_total),
                profiles_evaluated = coalesce(\(evaluated), profiles_evaluated), profiles_total = coalesce(\(profilesTotal), profiles_total),
                entered = entered + \(entered), exited = exited + \(exited)
            WHERE id = \(build.id) AND owner = \(instanceId) AND phase NOT IN ('done', 'failed', 'superseded')
            RETURNING 1
            """, logger: logger)
        { still = true }
        if !still { throw Superseded() }
    }

    /// What the version feeds: state keys with the trim and the entry each matching event makes.
    struct Feed {
        var key: String
        var matches: (String, [String: JSONValue], Date) -> Bool
        var entryValue: ([String: JSONValue]) -> JSONValue??
        var trim: (inout [StateEntry], Date) -> Void
    }

    private func feeds(_ build: Build) async throws -> (names: [String], feeds: [Feed]) {
        guard let kind = build.definitionKind else { throw Superseded() }
        var text: String?
        for try await value in try await db.query(
            """
            SELECT definition::text FROM \(unescaped: kind.versionsTable)
            WHERE space_id = \(build.spaceId) AND \(unescaped: kind.versionsOwner) = \(build.targetId) AND version = \(build.version)
            """, logger: logger
        ).decode(String.self) { text = value }
        guard let text, let json = try? JSONParser.parse(Array(text.utf8)) else { throw Superseded() }
        if kind == .audience {
            let condition = try DefinitionParser.condition(json)
            let feeds = condition.eventConditions.map { event in
                Feed(
                    key: AudienceSpec.stateKey(audienceId: build.targetId, version: build.version, path: event.path),
                    matches: { event.matches(name: $0, properties: $1, at: $2) }, entryValue: { _ in .some(nil) },
                    trim: { Evaluator.trim(&$0, for: event, now: $1) })
            }
            return (Array(Set(condition.eventConditions.map(\.name))).sorted(), feeds)
        }
        let definition = try DefinitionParser.computedTrait(json)
        return (
            [definition.event],
            [
                Feed(
                    key: TraitSpec.stateKey(traitId: build.targetId, version: build.version),
                    matches: { definition.matches(name: $0, properties: $1, at: $2) },
                    entryValue: { definition.entryValue(properties: $0) },
                    trim: { definition.trim(&$0, now: $1) })
            ]
        )
    }

    /// Folds the logged events into per-profile entries, then merges them into the state rows.
    private func scan(_ build: Build) async throws {
        let (names, feeds) = try await feeds(build)
        guard !feeds.isEmpty else { return }
        let now = Date()
        var total: Int64 = 0
        for try await count in try await db.query(EventLog.count(spaceId: build.spaceId, names: names), logger: logger)
            .decode(Int64.self)
        {
            total = count
        }
        try await setPhase(build, scanned: 0, total: total)
        var survivors: [String: String] = [:]
        for try await (id, into) in try await db.query(
            """
            SELECT profile_id, merged_into FROM profile_state WHERE space_id = \(build.spaceId) AND merged_into IS NOT NULL
            """, logger: logger
        ).decode((String, String).self) { survivors[id] = into }
        func survivor(_ id: String) -> String {
            var current = id
            for _ in 0..<20 {
                guard let next = survivors[current] else { break }
                current = next
            }
            return current
        }
        var gathered: [String: [String: [StateEntry]]] = [:]
        var scanned: Int64 = 0
        // One statement streams the whole history: exempt from the services' statement timeout.
        try await db.withoutStatementTimeout(logger: logger) { connection in
            let rows = try await connection.query(EventLog.select(spaceId: build.spaceId, names: names), logger: logger)
            for try await (profileId, eventId, name, time, propertiesText) in rows.decode(EventLog.Row.self) {
                scanned += 1
                let date = Date(timeIntervalSince1970: time)
                var properties: [String: JSONValue]?
                for feed in feeds {
                    if properties == nil { properties = StateStore.object(propertiesText) }
                    guard feed.matches(name, properties!, date), case .some(let value) = feed.entryValue(properties!)
                    else { continue }
                    gathered[survivor(profileId), default: [:]][feed.key, default: []].append(
                        StateEntry(time: time, id: eventId, value: value))
                    // Keep memory bounded: trim a profile's list once it grows.
                    if gathered[survivor(profileId)]![feed.key]!.count > 4_096 {
                        feed.trim(&gathered[survivor(profileId)]![feed.key]!, now)
                    }
                }
                if scanned % 100_000 == 0 { try await setPhase(build, scanned: scanned) }
            }
        }
        try await setPhase(build, scanned: scanned)
        nonisolated(unsafe) let trims = Dictionary(
            feeds.map { ($0.key, $0.trim) }, uniquingKeysWith: { first, _ in first })
        let profiles = gathered.keys.sorted()
        for start in stride(from: 0, to: profiles.count, by: pageSize) {
            let page = profiles[start..<min(start + pageSize, profiles.count)]
            try await db.transaction(logger: logger) { [self, gathered] connection in
                let states = try await store.lock(
                    spaceId: build.spaceId, profileIds: Set(page), create: true, on: connection)
                var changed: [ProfileState] = []
                for id in page {
                    guard var state = states[id], state.mergedInto == nil else { continue }
                    for (key, entries) in gathered[id] ?? [:] { state.add(entries, to: key) { trims[key]?(&$0, now) } }
                    changed.append(state)
                }
                try await store.save(spaceId: build.spaceId, changed, on: connection)
            }
        }
    }

    private func goLive(_ build: Build) async throws {
        guard let kind = build.definitionKind else { throw Superseded() }
        let switched = try await db.transaction(logger: logger) { [self] connection -> Bool in
            try await DefinitionCache.enterExclusive(on: connection, logger: logger)
            var switched = false
            for try await _ in try await connection.query(
                """
                UPDATE \(unescaped: kind.table) SET live_version = \(build.version), updated_at = now()
                WHERE space_id = \(build.spaceId) AND id = \(build.targetId) AND current_version = \(build.version) AND deleted_at IS NULL
                RETURNING 1
                """, logger: logger)
            { switched = true }
            try await DefinitionCache.advanceClock(on: connection, logger: logger)
            return switched
        }
        guard switched else {
            try await db.query(
                "UPDATE builds SET phase = 'superseded', finished_at = now() WHERE id = \(build.id)", logger: logger)
            throw Superseded()
        }
        var total: Int64 = 0
        for try await count in try await db.query(
            """
            SELECT count(*) FROM profile_state WHERE space_id = \(build.spaceId) AND merged_into IS NULL
            """, logger: logger
        ).decode(Int64.self) { total = count }
        try await setPhase(build, "evaluating", profilesTotal: total)
    }

    /// Evaluates every profile of the space for the new version (and what depends on it), page by
    /// page in profile-id order, each page one transaction.
    private func evaluateAll(_ build: Build) async throws {
        var after = ""
        var evaluated: Int64 = 0
        while true {
            var page: [String] = []
            for try await id in try await db.query(
                """
                SELECT profile_id FROM profile_state WHERE space_id = \(build.spaceId) AND merged_into IS NULL AND profile_id > \(after)
                ORDER BY profile_id LIMIT \(pageSize)
                """, logger: logger
            ).decode(String.self) { page.append(id) }
            guard let last = page.last else { return }
            after = last
            let (counts, earliestTimer) = try await db.transaction(logger: logger) {
                [self, page] connection -> ((entered: Int, exited: Int), Date?) in
                try await DefinitionCache.enterShared(on: connection, logger: logger)
                let space =
                    try await definitions.current(on: connection)[build.spaceId]
                    ?? CompiledSpace(audiences: [], traits: [])
                let states = try await store.lock(
                    spaceId: build.spaceId, profileIds: Set(page), create: false, on: connection)
                var work = ProfileWork(
                    spaceId: build.spaceId, evaluator: Evaluator(space: space), store: store, now: Date(),
                    states: states)
                for id in page {
                    work.touch(id) { touch in
                        touch.reason = .backfill
                        if build.definitionKind == .audience { touch.audiences.insert(build.targetId) }
                    }
                }
                return (try await work.finish(on: connection), work.earliestTimer)
            }
            store.timersCommitted(earliest: earliestTimer)
            evaluated += Int64(page.count)
            try await setPhase(
                build, evaluated: evaluated, entered: Int64(counts.entered), exited: Int64(counts.exited))
        }
    }

    /// A deleted audience: its members leave it, page by page.
    private func teardown(_ build: Build) async throws {
        var audience: AudienceSpec?
        for try await (key, name) in try await db.query(
            """
            SELECT key, name FROM audiences WHERE space_id = \(build.spaceId) AND id = \(build.targetId)
            """, logger: logger
        ).decode((String, String).self) {
            audience = AudienceSpec(
                id: build.targetId, key: key, name: name, liveVersion: build.version, live: nil, buildingVersion: nil,
                building: nil)
        }
        guard let audience else { return }
        try await setPhase(build, "evaluating")
        var total: Int64 = 0
        while true {
            var page: [String] = []
            for try await id in try await db.query(
                """
                SELECT profile_id FROM memberships WHERE space_id = \(build.spaceId) AND audience_id = \(build.targetId) ORDER BY profile_id LIMIT \(pageSize)
                """, logger: logger
            ).decode(String.self) { page.append(id) }
            guard !page.isEmpty else { return }
            try await db.transaction(logger: logger) { [self, page] connection in
                let states = try await store.lock(
                    spaceId: build.spaceId, profileIds: Set(page), create: false, on: connection)
                var work = ProfileWork(
                    spaceId: build.spaceId, evaluator: Evaluator(space: CompiledSpace(audiences: [], traits: [])),
                    store: store, now: Date(), states: states)
                for id in page { work.leave(audience, version: build.version, profileId: id) }
                try await work.finish(on: connection)
                // A membership row without state (never expected) must not stop the teardown.
                try await connection.query(
                    """
                    DELETE FROM memberships WHERE space_id = \(build.spaceId) AND audience_id = \(build.targetId) AND profile_id = ANY(\(page))
                    """, logger: logger)
            }
            total += Int64(page.count)
            try await setPhase(build, evaluated: total, exited: Int64(page.count))
        }
    }
}
