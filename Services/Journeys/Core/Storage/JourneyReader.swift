import Contracts
import Foundation
import Logging
import PostgresNIO

/// What the API reports about a journey's traffic: per-step counts and a profile's passes.
public struct JourneyReader: Sendable {
    let db: PostgresClient
    let catalog: JourneyCatalog
    let logger: Logger

    public init(db: PostgresClient, catalog: JourneyCatalog, logger: Logger) {
        self.db = db
        self.catalog = catalog
        self.logger = logger
    }

    struct StepStats: Encodable {
        var version: Int
        var stepId: String
        var name: String?
        var type: String?
        /// Profiles at this step right now (waiting, or about to run it).
        var now: Int64
        var entered: Int64
        var completed: Int64
        /// Passes that ended here (end of path, exit step, exit rule, holdout).
        var exited: Int64
        var converted: Int64
    }

    struct Stats: Encodable {
        var journeyId: String
        var active: Int64
        var entered: Int64
        var exited: Int64
        var converted: Int64
        var steps: [StepStats]
    }

    func stats(spaceId: String, journeyId: String) async throws -> Stats {
        try await db.withConnection { connection in
            var steps: [String: StepStats] = [:]
            for try await (version, stepId, entered, completed, exited, converted) in try await connection.query(
                """
                SELECT version, step_id, entered, completed, exited, converted FROM step_counts WHERE space_id = \(spaceId) AND journey_id = \(journeyId)
                """, logger: logger
            ).decode((Int, String, Int64, Int64, Int64, Int64).self) {
                steps["\(version)|\(stepId)"] = StepStats(
                    version: version, stepId: stepId, now: 0, entered: entered, completed: completed,
                    exited: exited, converted: converted)
            }
            for try await (version, stepId, count) in try await connection.query(
                """
                SELECT version, step_id, count(*) FROM paths WHERE space_id = \(spaceId) AND journey_id = \(journeyId) AND status <> 'done'
                GROUP BY version, step_id
                """, logger: logger
            ).decode((Int, String, Int64).self) {
                steps[
                    "\(version)|\(stepId)",
                    default: StepStats(
                        version: version, stepId: stepId, now: 0, entered: 0, completed: 0, exited: 0, converted: 0)
                ]
                .now = count
            }
            var result = Stats(journeyId: journeyId, active: 0, entered: 0, exited: 0, converted: 0, steps: [])
            for try await (active, entered, exited) in try await connection.query(
                """
                SELECT count(*) FILTER (WHERE status = 'active'), count(*), count(*) FILTER (WHERE status = 'exited')
                FROM instances WHERE space_id = \(spaceId) AND journey_id = \(journeyId)
                """, logger: logger
            ).decode((Int64, Int64, Int64).self) {
                (result.active, result.entered, result.exited) = (active, entered, exited)
            }
            for key in steps.keys {
                guard let stats = steps[key],
                    let step = try await catalog.version(
                        spaceId: spaceId, journeyId: journeyId, version: stats.version, on: connection)?
                        .definition.stepsById[stats.stepId]
                else { continue }
                steps[key]?.name = step.name
                steps[key]?.type = step.typeName
            }
            result.steps = steps.values.sorted { ($0.version, $0.stepId) < ($1.version, $1.stepId) }
            result.converted = result.steps.reduce(0) { $0 + $1.converted }
            return result
        }
    }

    struct PathView: Encodable {
        var pathId: String
        var version: Int
        var stepId: String
        var status: String
        var dueAt: Date?
    }

    struct InstanceView: Encodable {
        var id: String
        var version: Int
        var status: String
        var enteredAt: Date
        var exitedAt: Date?
        var exitReason: String?
        var trigger: JSONValue
        var paths: [PathView]
    }

    /// A profile's passes through the journey, newest first.
    func instances(spaceId: String, journeyId: String, profileId: String) async throws -> [InstanceView] {
        var instances: [InstanceView] = []
        for try await (id, version, status, enteredAt, exitedAt, reason, trigger) in try await db.query(
            """
            SELECT id, version, status, entered_at, exited_at, exit_reason, trigger::text FROM instances
            WHERE space_id = \(spaceId) AND journey_id = \(journeyId) AND profile_id = \(profileId) ORDER BY entered_at DESC, id LIMIT 100
            """, logger: logger
        ).decode((String, Int, String, Date, Date?, String?, String).self) {
            instances.append(
                InstanceView(
                    id: id, version: version, status: status, enteredAt: enteredAt, exitedAt: exitedAt,
                    exitReason: reason,
                    trigger: (try? JSONParser.parse(Array(trigger.utf8))) ?? .null, paths: []))
        }
        guard !instances.isEmpty else { return [] }
        var paths: [String: [PathView]] = [:]
        for try await (instanceId, pathId, version, stepId, status, dueAt) in try await db.query(
            """
            SELECT instance_id, path_id, version, step_id, status, due_at FROM paths WHERE space_id = \(spaceId) AND instance_id = ANY(\(instances.map(\.id)))
            ORDER BY path_id
            """, logger: logger
        ).decode((String, String, Int, String, String, Date?).self) {
            paths[instanceId, default: []].append(
                PathView(pathId: pathId, version: version, stepId: stepId, status: status, dueAt: dueAt))
        }
        for index in instances.indices { instances[index].paths = paths[instances[index].id] ?? [] }
        return instances
    }
}
