import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// Time-driven membership: when a sliding window drops a remembered event, the profile's
/// time-dependent audiences are evaluated at that moment, without any new event. Timers live in
/// Postgres; due ones are claimed with `FOR UPDATE SKIP LOCKED`, so several instances share them,
/// and a profile being changed by the consumer right now is skipped (its timer stays due).
/// Between runs it sleeps until the next timer is due, or until a writer of this instance commits
/// an earlier one (`StateStore.timersCommitted`); `idleCeiling` bounds how late it notices timers
/// it was not told of (those of an instance that died).
public struct TimerWorker: Service {
    let db: PostgresClient
    let definitions: DefinitionCache
    let store: StateStore
    let interval: Duration
    let idleCeiling: Duration = .seconds(5)
    let batchSize: Int
    let logger: Logger

    public init(
        db: PostgresClient, definitions: DefinitionCache, store: StateStore, interval: Duration = .milliseconds(500),
        batchSize: Int = 500, logger: Logger
    ) {
        self.db = db
        self.definitions = definitions
        self.store = store
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        await store.timerWakeups.run(every: interval, idleUpTo: idleCeiling, loop: "audience timers") {
            do {
                while try await runDue() >= batchSize, !Task.isCancelled {}
                return try await nextRun()
            } catch {
                logger.warning("timer pass failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                return .soon
            }
        }
    }

    /// When the next timer is due, by Postgres's clock (the one `runDue` compares with).
    func nextRun() async throws -> NextRun {
        try await db.timeUntil("SELECT extract(epoch FROM min(due_at) - now())::float8 FROM timers", logger: logger)
            .map { .dueIn($0) } ?? .idle
    }

    /// Evaluates one batch of due timers; returns how many profiles it evaluated.
    func runDue() async throws -> Int {
        try await db.transaction(logger: logger) { [self] connection -> Int in
            try await DefinitionCache.enterShared(on: connection, logger: logger)
            let compiled = try await definitions.current(on: connection)
            var due: [String: Set<String>] = [:]
            var held = 0
            for try await (spaceId, profileId) in try await connection.query(
                """
                SELECT space_id, profile_id FROM timers WHERE due_at <= now() ORDER BY due_at LIMIT \(batchSize) FOR UPDATE SKIP LOCKED
                """, logger: logger
            ).decode((String, String).self) {
                due[spaceId, default: []].insert(profileId)
            }
            for (spaceId, ids) in due.sorted(by: { $0.key < $1.key }) {
                let states = try await store.lock(
                    spaceId: spaceId, profileIds: ids, create: false, skipLocked: true, on: connection)
                let locked = ids.filter { states[$0] != nil }
                held += locked.count
                try await connection.query(
                    "DELETE FROM timers WHERE space_id = \(spaceId) AND profile_id = ANY(\(Array(locked)))",
                    logger: logger)
                var work = ProfileWork(
                    spaceId: spaceId,
                    evaluator: Evaluator(space: compiled[spaceId] ?? CompiledSpace(audiences: [], traits: [])),
                    store: store, now: Date(), states: states)
                for id in locked {
                    work.touch(id) {
                        $0.time = true
                        $0.reason = .time
                    }
                }
                try await work.finish(on: connection)
            }
            return held
        }
    }
}
