import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import PostgresNIO

/// Entries into and exits from journeys: the re-entry rules, the instance with its first path
/// (due at once, so the advancer runs its first steps), and the bookkeeping both need.
struct InstanceWriter: Sendable {
    let profiles: ProfileReplica
    let logger: Logger

    struct Candidate: Sendable {
        var journey: JourneyRef
        var profileId: String
        /// What triggered the entry (an event id, a membership change id): the same trigger never
        /// creates a second instance.
        var triggerId: String
        var trigger: [String: JSONValue]
    }

    /// Enters every candidate the re-entry rules allow; returns the `Journey Entered` events.
    func enter(_ candidates: [Candidate], now: Date, on connection: PostgresConnection) async throws -> [JourneyEvent] {
        guard !candidates.isEmpty else { return [] }
        var events: [JourneyEvent] = []
        let snapshots = try await profileSnapshots(candidates, on: connection)
        for candidate in candidates {
            let journey = candidate.journey
            try await connection.query(
                """
                INSERT INTO entries (space_id, journey_id, profile_id) VALUES (\(journey.spaceId), \(journey.journeyId), \(candidate.profileId))
                ON CONFLICT DO NOTHING
                """, logger: logger)
            var allowed = false
            for try await (entered, active, lastExited) in try await connection.query(
                """
                SELECT entered, active, last_exited_at FROM entries
                WHERE space_id = \(journey.spaceId) AND journey_id = \(journey.journeyId) AND profile_id = \(candidate.profileId) FOR UPDATE
                """, logger: logger
            ).decode((Int, Int, Date?).self) {
                switch journey.definition.reentry {
                case .once: allowed = entered == 0
                case .afterExit(let gap):
                    allowed = active == 0 && (lastExited.map { now.timeIntervalSince($0) >= gap } ?? true)
                case .everyEvent: allowed = true
                }
            }
            guard allowed else { continue }
            let instanceId = ExecutionIds.instance(
                spaceId: journey.spaceId, journeyId: journey.journeyId, profileId: candidate.profileId,
                trigger: candidate.triggerId)
            var inserted = false
            for try await _ in try await connection.query(
                """
                INSERT INTO instances (space_id, id, journey_id, version, profile_id, status, trigger, entered_at, trace_parent)
                VALUES (\(journey.spaceId), \(instanceId), \(journey.journeyId), \(journey.version), \(candidate.profileId), 'active',
                        \(JSONValue.object(candidate.trigger).json)::jsonb, \(now), \(TraceHeaders.current()["traceparent"]))
                ON CONFLICT DO NOTHING RETURNING 1
                """, logger: logger)
            {
                inserted = true
            }
            guard inserted else { continue }
            try await connection.query(
                """
                INSERT INTO paths (space_id, instance_id, path_id, journey_id, version, profile_id, step_id, status, due_at)
                VALUES (\(journey.spaceId), \(instanceId), 'p', \(journey.journeyId), \(journey.version), \(candidate.profileId),
                        \(journey.definition.start), 'ready', \(now))
                """, logger: logger)
            try await connection.query(
                """
                UPDATE entries SET entered = entered + 1, active = active + 1, last_entered_at = \(now)
                WHERE space_id = \(journey.spaceId) AND journey_id = \(journey.journeyId) AND profile_id = \(candidate.profileId)
                """, logger: logger)
            let profile =
                snapshots["\(journey.spaceId)|\(candidate.profileId)"]
                ?? ProfileSnapshot(profileId: candidate.profileId)
            events.append(
                .about(
                    JourneyEvent.Name.entered, scope: instanceId, journey: journey, instanceId: instanceId,
                    profile: profile, at: now))
        }
        return events
    }

    struct Exit: Sendable {
        var spaceId: String
        var instanceId: String
    }

    /// Ends instances (an exit rule, an exit step, or the end of their last path) and returns the
    /// `Journey Exited` events. Instances already ended are left alone. `lastStep` names the step
    /// where a completed instance ended (its paths are done already).
    /// `known`: profiles the caller has loaded already, by `space|profile`.
    func exit(
        _ exits: [Exit], reason: String, lastStep: [String: String] = [:], known: [String: ProfileSnapshot] = [:],
        catalog: JourneyCatalog,
        counter: inout StepCounter, now: Date, on connection: PostgresConnection
    ) async throws -> [JourneyEvent] {
        var events: [JourneyEvent] = []
        for (spaceId, group) in Dictionary(grouping: exits, by: \.spaceId) {
            // Paths before instances: the advancer locks paths first too, so the two never deadlock.
            var stepOf: [String: (version: Int, step: String)] = [:]
            for try await (instanceId, version, stepId) in try await connection.query(
                """
                UPDATE paths SET status = 'done', due_at = NULL, resume_branch = NULL
                WHERE space_id = \(spaceId) AND instance_id = ANY(\(group.map(\.instanceId))) AND status <> 'done'
                RETURNING instance_id, version, step_id
                """, logger: logger
            ).decode((String, Int, String).self) {
                stepOf[instanceId] = (version, stepId)
            }
            var ended: [(id: String, journeyId: String, version: Int, profileId: String)] = []
            for try await row in try await connection.query(
                """
                UPDATE instances SET status = 'exited', exited_at = \(now), exit_reason = \(reason)
                WHERE space_id = \(spaceId) AND id = ANY(\(group.map(\.instanceId))) AND status = 'active'
                RETURNING id, journey_id, version, profile_id
                """, logger: logger
            ).decode((String, String, Int, String).self) {
                ended.append(row)
            }
            guard !ended.isEmpty else { continue }
            // Counted per (journey, profile): several passes of one profile (`every_event`) may end
            // together, and an UPDATE joined to several rows of one entry applies only one of them.
            try await connection.query(
                """
                UPDATE entries e SET active = greatest(e.active - x.ended, 0), last_exited_at = \(now)
                FROM (SELECT journey_id, profile_id, count(*) AS ended
                      FROM unnest(\(ended.map(\.journeyId))::text[], \(ended.map(\.profileId))::text[]) AS u(journey_id, profile_id)
                      GROUP BY journey_id, profile_id) x
                WHERE e.space_id = \(spaceId) AND e.journey_id = x.journey_id AND e.profile_id = x.profile_id
                """, logger: logger)
            var snapshots: [String: ProfileSnapshot] = [:]
            let missing = Set(ended.map(\.profileId)).filter { id in
                guard let profile = known["\(spaceId)|\(id)"] else { return true }
                snapshots[id] = profile
                return false
            }
            if !missing.isEmpty {
                snapshots.merge(try await profiles.profiles(spaceId: spaceId, ids: Array(missing), on: connection)) {
                    first, _ in first
                }
            }
            for instance in ended {
                let step = stepOf[instance.id] ?? lastStep[instance.id].map { (instance.version, $0) }
                if let step {
                    counter.add(
                        .exited,
                        .init(spaceId: spaceId, journeyId: instance.journeyId, version: step.version, stepId: step.step)
                    )
                }
                guard
                    let journey = try await catalog.version(
                        spaceId: spaceId, journeyId: instance.journeyId, version: instance.version, on: connection)
                else { continue }
                var event = JourneyEvent.about(
                    JourneyEvent.Name.exited, scope: instance.id, journey: journey, instanceId: instance.id,
                    profile: snapshots[instance.profileId] ?? ProfileSnapshot(profileId: instance.profileId), at: now)
                event.reason = reason
                event.stepId = step?.step
                events.append(event)
            }
        }
        return events
    }

    private func profileSnapshots(_ candidates: [Candidate], on connection: PostgresConnection) async throws -> [String:
        ProfileSnapshot]
    {
        var found: [String: ProfileSnapshot] = [:]
        for (spaceId, group) in Dictionary(grouping: candidates, by: \.journey.spaceId) {
            for (id, snapshot) in try await profiles.profiles(
                spaceId: spaceId, ids: Array(Set(group.map(\.profileId))), on: connection)
            {
                found["\(spaceId)|\(id)"] = snapshot
            }
        }
        return found
    }
}
