import Logging
import PostgresNIO

/// Per-step counters gathered over a batch and written with one statement: a busy step is one
/// row update per batch, not one per profile.
struct StepCounter {
    struct Key: Hashable {
        var spaceId: String
        var journeyId: String
        var version: Int
        var stepId: String
    }
    enum Metric { case entered, completed, exited, converted }

    private var counts: [Key: [Int64]] = [:]

    mutating func add(_ metric: Metric, _ key: Key, by amount: Int64 = 1) {
        var row = counts[key] ?? [0, 0, 0, 0]
        switch metric {
        case .entered: row[0] += amount
        case .completed: row[1] += amount
        case .exited: row[2] += amount
        case .converted: row[3] += amount
        }
        counts[key] = row
    }

    func flush(on connection: PostgresConnection, logger: Logger) async throws {
        guard !counts.isEmpty else { return }
        // Sorted, so concurrent batches touch shared rows in one order and never deadlock.
        let rows = counts.sorted {
            ($0.key.spaceId, $0.key.journeyId, $0.key.version, $0.key.stepId) < (
                $1.key.spaceId, $1.key.journeyId, $1.key.version, $1.key.stepId
            )
        }
        try await connection.query(
            """
            INSERT INTO step_counts (space_id, journey_id, version, step_id, entered, completed, exited, converted)
            SELECT * FROM unnest(\(rows.map(\.key.spaceId))::text[], \(rows.map(\.key.journeyId))::text[], \(rows.map(\.key.version))::int[],
                                 \(rows.map(\.key.stepId))::text[], \(rows.map { $0.value[0] })::bigint[], \(rows.map { $0.value[1] })::bigint[],
                                 \(rows.map { $0.value[2] })::bigint[], \(rows.map { $0.value[3] })::bigint[])
            ON CONFLICT (space_id, journey_id, version, step_id) DO UPDATE SET
                entered = step_counts.entered + excluded.entered, completed = step_counts.completed + excluded.completed,
                exited = step_counts.exited + excluded.exited, converted = step_counts.converted + excluded.converted
            """, logger: logger)
    }
}
