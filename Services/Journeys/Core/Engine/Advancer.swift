import Contracts
import Foundation
import Logging
import Metrics
import Persistence
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Runs due paths: the durable timers. Each pass claims a batch of due paths of published
/// journeys with `FOR UPDATE SKIP LOCKED` (so instances share the work and a path is never run
/// twice at once), advances each as far as it can go now, and writes the new path states, the
/// journey events, the message requests and the other records in the same transaction. A crash
/// rolls the whole batch back; it runs again, producing the same ids.
///
/// A burst of timers due at one instant takes longer to fire than a timer may be late (100,000 take
/// about 20 s on two cores). When the paths due within `lookahead` are more than can be fired by
/// their instant, they are claimed ahead, earliest first: each batch is decided as of its latest
/// due instant (at most `aheadSlice` after its earliest), its state is committed, and what it
/// publishes is held (`Outbox.hold`) until that instant, from which the outbox relay publishes it.
/// The price: a path claimed ahead is decided up to `lookahead` early, so an event that reaches
/// its instance in between (an exit, a conversion) is applied after the step, as it would be
/// had it arrived just after the due instant.
public final class Advancer: Service, Sendable {
    public struct Settings: Sendable {
        /// Large batches: each claim walks the due-timer index, so fewer claims clear a burst faster
        /// (100,000 due at once: 2,500 timers/s with 1,000 per batch, 4,600/s with 5,000).
        public var batchSize = 5_000
        /// Passes running at once (each claims its own batch).
        public var workers = 2
        /// The wait between runs while paths are coming due or a run found work.
        public var pollInterval: Duration = .milliseconds(200)
        /// The longest wait between runs when no path is due soon: paths this instance writes wake
        /// the workers and the next due one sets their alarm, so this only bounds how late the
        /// paths left by an instance that died are noticed.
        public var idleCeiling: Duration = .seconds(5)
        /// How far ahead timers may be claimed (zero: never ahead).
        public var lookahead: Duration = .seconds(30)
        /// The due instants one batch claimed ahead may span: its effects are released at the
        /// latest of them, so this is the most an early path of the batch waits past its instant.
        public var aheadSlice: Duration = .milliseconds(500)
        /// Timers per second one pass is taken to fire until it has measured a full batch.
        public var firingRateGuess: Double = 1_000
        public init() {}
    }

    let db: PostgresClient
    let catalog: JourneyCatalog
    let profiles: ProfileReplica
    let writer: InstanceWriter
    let clock: any JourneyClock
    let settings: Settings
    let logger: Logger
    let wakeups: [Wakeups]
    /// Timers fired per second by one pass, as measured on full batches: how early a burst must be
    /// claimed. The first guess is low on purpose (an early claim costs little, a late one is late).
    private let firingRate: Mutex<Double>
    /// When the last look for a coming burst found none: the next is a second later, not at every
    /// poll of every worker (idle cost).
    private let lastCalmLook = Mutex<Date?>(nil)
    private let advanced = Counter(label: "engage_journey_paths_advanced_total")
    private let advancedAhead = Counter(label: "engage_journey_paths_claimed_ahead_total")
    private let lateness = Timer(label: "engage_journey_timer_lateness_seconds", preferredDisplayUnit: .seconds)

    public init(
        db: PostgresClient, catalog: JourneyCatalog, profiles: ProfileReplica, clock: any JourneyClock,
        settings: Settings, logger: Logger
    ) {
        self.db = db
        self.catalog = catalog
        self.profiles = profiles
        self.writer = InstanceWriter(profiles: profiles, logger: logger)
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.wakeups = (0..<max(settings.workers, 1)).map { _ in Wakeups() }
        self.firingRate = Mutex(max(settings.firingRateGuess, 1))
    }

    public func wake() { for wakeup in wakeups { wakeup.wake() } }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for wakeup in wakeups {
                group.addTask {
                    await wakeup.run(
                        every: self.settings.pollInterval, idleUpTo: self.settings.idleCeiling,
                        loop: "journey advancer"
                    ) {
                        do {
                            while try await self.runDue(), !Task.isShuttingDownGracefully {}
                            return try await self.nextRun()
                        } catch {
                            self.logger.warning(
                                "advancing journeys failed; retrying",
                                metadata: ["error": "\(String(reflecting: error))"])
                            return .soon
                        }
                    }
                }
            }
        }
        logger.info("advancer stopped")
    }

    struct DuePath {
        var spaceId: String
        var instanceId: String
        var journeyId: String
        var version: Int
        var profileId: String
        var state: PathState
        var enteredAt: Date
        var trigger: [String: JSONValue]
        /// The trace of the record that started the instance, which what the path publishes continues.
        var traceParent: String?
    }

    /// Advances one batch of paths: those due now, or else, when a burst is coming that could not
    /// be fired by its instant, the earliest of those due within the lookahead. Returns whether to
    /// run again at once (a full batch was due, or a batch was claimed ahead).
    func runDue() async throws -> Bool {
        let now = clock.now()
        let claimed = try await advanceBatch(dueBy: now, now: now)
        if claimed >= settings.batchSize { return true }
        guard claimed == 0, lastCalmLook.withLock({ $0.map { now.timeIntervalSince($0) >= 1 } ?? true }) else {
            return false
        }
        guard try await burstNeedsClaimingAhead(now: now) else {
            lastCalmLook.withLock { $0 = now }
            return false
        }
        return try await advanceBatch(dueBy: now.addingTimeInterval(settings.lookahead.inSeconds), now: now) > 0
    }

    /// When to run next, from the earliest path still to come due: at its instant; while it is
    /// within the lookahead, at least every second too, so that the look for a coming burst
    /// (`burstNeedsClaimingAhead`) keeps its pace; beyond, when it enters the lookahead. With no
    /// path to come, the loop backs off: this instance's writes wake it.
    func nextRun() async throws -> NextRun {
        let now = clock.now()
        var next: Date?
        for try await due in try await db.query(
            """
            SELECT p.due_at FROM paths p
            WHERE p.status <> 'done' AND p.due_at IS NOT NULL
              AND EXISTS (SELECT 1 FROM journeys j WHERE j.space_id = p.space_id AND j.id = p.journey_id AND j.status = 'published')
            ORDER BY p.due_at LIMIT 1
            """, logger: logger
        ).decode(Date.self) {
            next = due
        }
        guard let next else { return .idle }
        let until = next.timeIntervalSince(now)
        let lookahead = settings.lookahead.inSeconds
        if lookahead > 0, until <= lookahead { return .dueIn(.seconds(min(until, 1))) }
        return .dueIn(.seconds(until - lookahead))
    }

    /// Whether firing the paths due within the lookahead only when each comes due would make some
    /// of them late: for a horizon h, the n paths due within it take n / rate to fire, which must
    /// start before h (with two seconds' margin: looks are a second apart, and the relay polls)
    /// and would otherwise end more than half a second after h.
    private func burstNeedsClaimingAhead(now: Date) async throws -> Bool {
        let lookahead = settings.lookahead.inSeconds
        guard lookahead > 0 else { return false }
        let rate = firingRate.withLock { $0 }
        // Beyond this many paths the answer is yes in any case: no need to count further.
        let enough = Int(rate * lookahead) + 1
        var dueWithin = 0
        for try await (second, count) in try await db.query(
            """
            SELECT ceil(extract(epoch FROM due_at - \(now)))::int, count(*)::int
            FROM (SELECT due_at FROM paths WHERE status <> 'done' AND due_at > \(now)
                  AND due_at <= \(now.addingTimeInterval(lookahead)) ORDER BY due_at LIMIT \(enough)) d
            GROUP BY 1 ORDER BY 1
            """, logger: logger
        ).decode((Int, Int).self) {
            dueWithin += count
            let work = Double(dueWithin) / rate
            if work > 0.5, work >= Double(second) - 2 { return true }
        }
        return false
    }

    /// Claims and advances one batch of the paths due by `dueBy`; returns how many it claimed.
    /// Past `now` (a claim ahead) the batch is cut to `aheadSlice` after its earliest instant and
    /// decided as of its latest, and what it publishes is held until then.
    private func advanceBatch(dueBy: Date, now: Date) async throws -> Int {
        let started = ContinuousClock.now
        let claimed = try await db.transaction(logger: logger) { [self] connection -> Int in
            var due: [DuePath] = []
            // The due paths are picked from the due-timer index alone, then joined: with the
            // joins in one query, stale statistics (a burst of new instances not yet analyzed)
            // led the planner to walk every instance of the space on each poll (0.5-1.1 s each).
            for try await row in try await connection.query(
                """
                WITH due AS MATERIALIZED (
                    SELECT p.space_id, p.instance_id, p.path_id FROM paths p
                    WHERE p.status <> 'done' AND p.due_at <= \(dueBy)
                      AND EXISTS (SELECT 1 FROM journeys j WHERE j.space_id = p.space_id AND j.id = p.journey_id AND j.status = 'published')
                    ORDER BY p.due_at LIMIT \(settings.batchSize)
                    FOR UPDATE OF p SKIP LOCKED)
                SELECT p.space_id, p.instance_id, p.path_id, p.journey_id, p.version, p.profile_id, p.step_id, p.status, p.step_entered_at,
                       p.due_at, p.resume_branch, i.entered_at, i.trigger::text, i.trace_parent
                FROM due
                JOIN paths p USING (space_id, instance_id, path_id)
                JOIN instances i ON i.space_id = p.space_id AND i.id = p.instance_id
                ORDER BY p.due_at
                """, logger: logger
            ).decode(
                (
                    String, String, String, String, Int, String, String, String, Date?, Date?, String?, Date, String,
                    String?
                ).self
            ) {
                let trigger = (try? JSONParser.parse(Array(row.12.utf8)))?.objectValue ?? [:]
                due.append(
                    DuePath(
                        spaceId: row.0, instanceId: row.1, journeyId: row.3, version: row.4, profileId: row.5,
                        state: PathState(
                            pathId: row.2, stepId: row.6, status: PathStatus(rawValue: row.7) ?? .ready,
                            stepEnteredAt: row.8, dueAt: row.9, resumeBranch: row.10),
                        enteredAt: row.11, trigger: trigger, traceParent: row.13))
            }
            var decidedAt = now
            if dueBy > now, let earliest = due.first?.state.dueAt {
                // Rows past the slice stay locked until this commits, and unchanged.
                let sliceEnd = earliest.addingTimeInterval(settings.aheadSlice.inSeconds)
                due = due.filter { ($0.state.dueAt ?? earliest) <= sliceEnd }
                decidedAt = max(now, due.compactMap(\.state.dueAt).max() ?? earliest)
            }
            guard !due.isEmpty else { return 0 }
            for path in due {
                if let dueAt = path.state.dueAt { lateness.recordSeconds(max(0, decidedAt.timeIntervalSince(dueAt))) }
            }
            try await advance(due, now: decidedAt, heldUntil: decidedAt > now ? decidedAt : nil, on: connection)
            return due.count
        }
        advanced.increment(by: claimed)
        if dueBy > now { advancedAhead.increment(by: claimed) }
        if claimed >= 1_000 {
            let seconds = (ContinuousClock.now - started).inSeconds
            firingRate.withLock { $0 = 0.7 * $0 + 0.3 * Double(claimed) / max(seconds, 0.001) }
        }
        return claimed
    }

    private func advance(_ due: [DuePath], now: Date, heldUntil: Date?, on connection: PostgresConnection)
        async throws
    {
        var counter = StepCounter()
        var outbox: [OutboxMessage] = []
        var updates: [(DuePath, PathState)] = []
        var forks: [(DuePath, PathState)] = []
        var goals: [(DuePath, StepEffects.Send)] = []
        var exitSteps: [InstanceWriter.Exit] = []
        var finishedPaths: [String: String] = [:]
        var known: [String: ProfileSnapshot] = [:]

        for (spaceId, paths) in Dictionary(grouping: due, by: \.spaceId) {
            let ids = Array(Set(paths.map(\.profileId)))
            let snapshots = try await profiles.profiles(spaceId: spaceId, ids: ids, on: connection)
            for (id, profile) in snapshots { known["\(spaceId)|\(id)"] = profile }
            var refs: [String: JourneyRef] = [:]
            for path in paths where refs["\(path.journeyId)|\(path.version)"] == nil {
                refs["\(path.journeyId)|\(path.version)"] = try await catalog.version(
                    spaceId: spaceId, journeyId: path.journeyId, version: path.version, on: connection)
            }
            let needsAudiences = refs.values.contains {
                $0.definition.steps.contains { !$0.kind.conditions.allSatisfy { $0.audienceIds.isEmpty } }
            }
            let needsEvents = refs.values.contains { $0.definition.usesEventHistory }
            let audiences =
                needsAudiences ? try await memberships(spaceId: spaceId, profileIds: ids, on: connection) : [:]
            let history =
                needsEvents
                ? try await events(
                    spaceId: spaceId, profileIds: ids, since: paths.map(\.enteredAt).min() ?? now, on: connection) : [:]
            for path in paths {
                guard let journey = refs["\(path.journeyId)|\(path.version)"] else {
                    logger.error(
                        "path of an unknown journey version left as it is",
                        metadata: ["instance_id": "\(path.instanceId)"])
                    continue
                }
                let profile = snapshots[path.profileId] ?? ProfileSnapshot(profileId: path.profileId)
                let context = ConditionContext(
                    traits: profile.traits, audiences: audiences[path.profileId] ?? [],
                    events: history[path.profileId] ?? [],
                    enteredAt: path.enteredAt)
                let runner = StepRunner(
                    journey: journey,
                    instance: InstanceRef(
                        id: path.instanceId, profileId: path.profileId, enteredAt: path.enteredAt,
                        trigger: path.trigger),
                    profile: profile, context: context, now: now)
                let effects = runner.advance(path.state)
                for (stepId, metric) in effects.counts {
                    counter.add(
                        metric == "entered" ? .entered : .completed,
                        .init(spaceId: spaceId, journeyId: path.journeyId, version: path.version, stepId: stepId))
                }
                var published = try effects.events.map { try $0.outbox() } + effects.records
                for send in effects.sends {
                    published.append(try send.request.outbox())
                    if send.goal != nil { goals.append((path, send)) }
                }
                outbox += published.map { $0.continuing(trace: path.traceParent) }
                updates.append((path, effects.paths[0]))
                forks += effects.paths.dropFirst().map { (path, $0) }
                if effects.exitReason != nil {
                    exitSteps.append(.init(spaceId: spaceId, instanceId: path.instanceId))
                } else if effects.paths[0].status == .done, let ended = effects.endedAt {
                    finishedPaths[path.instanceId] = ended
                }
            }
        }
        try await writePaths(updates, forks: forks, now: now, on: connection)
        try await writeGoals(goals, now: now, on: connection)
        // Exit steps end the whole instance (its other paths too); a path that reached its end
        // ends the instance when it was the last one running.
        // Exits continue their instance's trace too.
        var traces: [String: String] = [:]
        for path in due { traces[path.instanceId] = path.traceParent }
        let exited = try await writer.exit(
            exitSteps, reason: "exit_step", known: known, catalog: catalog, counter: &counter, now: now, on: connection)
        let completed = try await instancesWithoutRunningPaths(Array(finishedPaths.keys), due: due, on: connection)
        let finished = try await writer.exit(
            completed, reason: "completed", lastStep: finishedPaths, known: known, catalog: catalog, counter: &counter,
            now: now, on: connection)
        outbox += try (exited + finished).map { event in
            try event.outbox().continuing(trace: event.instanceId.flatMap { traces[$0] })
        }
        try await counter.flush(on: connection, logger: logger)
        if let heldUntil {
            try await Outbox.hold(outbox, until: heldUntil, on: connection, logger: logger)
        } else {
            try await Outbox.enqueue(outbox, on: connection, logger: logger)
        }
    }

    private func writePaths(
        _ updates: [(DuePath, PathState)], forks: [(DuePath, PathState)], now: Date, on connection: PostgresConnection
    ) async throws {
        if !updates.isEmpty {
            // The epoch stands for "none" in the arrays (PostgresNIO binds no arrays of optionals).
            let none = Date(timeIntervalSince1970: 0)
            try await connection.query(
                """
                UPDATE paths p SET step_id = u.step_id, status = u.status, step_entered_at = NULLIF(u.entered_at, 'epoch'::timestamptz),
                    due_at = NULLIF(u.due_at, 'epoch'::timestamptz), resume_branch = NULLIF(u.resume, '')
                FROM unnest(\(updates.map(\.0.spaceId))::text[], \(updates.map(\.0.instanceId))::text[], \(updates.map(\.1.pathId))::text[],
                            \(updates.map(\.1.stepId))::text[], \(updates.map(\.1.status.rawValue))::text[],
                            \(updates.map { $0.1.stepEnteredAt ?? none })::timestamptz[], \(updates.map { $0.1.dueAt ?? none })::timestamptz[],
                            \(updates.map { $0.1.resumeBranch ?? "" })::text[])
                    AS u(space_id, instance_id, path_id, step_id, status, entered_at, due_at, resume)
                WHERE p.space_id = u.space_id AND p.instance_id = u.instance_id AND p.path_id = u.path_id
                """, logger: logger)
        }
        for (parent, fork) in forks {
            try await connection.query(
                """
                INSERT INTO paths (space_id, instance_id, path_id, journey_id, version, profile_id, step_id, status, due_at)
                VALUES (\(parent.spaceId), \(parent.instanceId), \(fork.pathId), \(parent.journeyId), \(parent.version), \(parent.profileId),
                        \(fork.stepId), 'ready', \(now))
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    private func writeGoals(_ goals: [(DuePath, StepEffects.Send)], now: Date, on connection: PostgresConnection)
        async throws
    {
        for (path, send) in goals {
            guard let goal = send.goal else { continue }
            // The goal's filters stay in the (immutable) journey version; the event name is enough to find candidates.
            try await connection.query(
                """
                INSERT INTO conversion_goals (space_id, message_id, instance_id, journey_id, version, step_id, profile_id, channel, template_id,
                                              goal_event, window_seconds, created_at)
                VALUES (\(path.spaceId), \(send.request.id), \(path.instanceId), \(path.journeyId), \(path.version), \(send.stepId),
                        \(path.profileId), \(send.request.channel.rawValue), \(send.request.templateId), \(goal.match.event),
                        \(goal.windowSeconds), \(now))
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    /// Of the instances whose path just ended, those with no other path still running.
    private func instancesWithoutRunningPaths(
        _ instanceIds: [String], due: [DuePath], on connection: PostgresConnection
    ) async throws -> [InstanceWriter.Exit] {
        guard !instanceIds.isEmpty else { return [] }
        let spaceOf = Dictionary(due.map { ($0.instanceId, $0.spaceId) }, uniquingKeysWith: { first, _ in first })
        var running: Set<String> = []
        for (spaceId, ids) in Dictionary(grouping: instanceIds, by: { spaceOf[$0] ?? "" }) {
            for try await id in try await connection.query(
                """
                SELECT DISTINCT instance_id FROM paths WHERE space_id = \(spaceId) AND instance_id = ANY(\(ids)) AND status <> 'done'
                """, logger: logger
            ).decode(String.self) {
                running.insert(id)
            }
        }
        return instanceIds.filter { !running.contains($0) }.compactMap { id in
            spaceOf[id].map { .init(spaceId: $0, instanceId: id) }
        }
    }

    private func memberships(spaceId: String, profileIds: [String], on connection: PostgresConnection) async throws
        -> [String: Set<String>]
    {
        var result: [String: Set<String>] = [:]
        for try await (profileId, audienceId) in try await connection.query(
            """
            SELECT profile_id, audience_id FROM audience_members WHERE space_id = \(spaceId) AND profile_id = ANY(\(profileIds))
            """, logger: logger
        ).decode((String, String).self) {
            result[profileId, default: []].insert(audienceId)
        }
        return result
    }

    private func events(spaceId: String, profileIds: [String], since: Date, on connection: PostgresConnection)
        async throws -> [String: [ConditionContext.PastEvent]]
    {
        var result: [String: [ConditionContext.PastEvent]] = [:]
        for try await (profileId, name, properties, occurredAt) in try await connection.query(
            """
            SELECT profile_id, event, properties::text, occurred_at FROM profile_events
            WHERE space_id = \(spaceId) AND profile_id = ANY(\(profileIds)) AND occurred_at >= \(since)
            """, logger: logger
        ).decode((String, String, String, Date).self) {
            let parsed = (try? JSONParser.parse(Array(properties.utf8)))?.objectValue ?? [:]
            result[profileId, default: []].append(.init(name: name, properties: parsed, occurredAt: occurredAt))
        }
        return result
    }
}
