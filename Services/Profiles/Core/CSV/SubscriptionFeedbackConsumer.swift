import Contracts
import Foundation
import Kafka
import Logging
import Persistence
import PostgresNIO
import ServiceKit

/// What the subscriptions service tells this one: its groups (a replica, to check CSV headers and
/// build the template) and the outcome of each CSV command batch (to finish uploads and add the
/// commands it refused, such as GLOBAL_STATE_NOT_SUBSCRIBED, to the error report).
public struct SubscriptionFeedbackConsumer: BatchHandler {
    let db: PostgresClient
    let logger: Logger

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    enum Input {
        case group(SubscriptionGroupRecord)
        case result(SubscriptionCommandResult)
    }

    static let router = RecordRouter<Input>([
        .init(Topic.subscriptionGroups) { value throws(InvalidMessage) in
            .group(try SubscriptionGroupReplica.decode(value))
        },
        .contract(
            Topic.subscriptionCommandResults, SubscriptionCommandResult.self, SubscriptionCommandResult.contract,
            Input.result),
    ])

    public static var topics: [String] { router.topics }

    public func handle(_ batch: [ConsumedRecord]) async throws -> [RecordFailure] {
        let (inputs, failures) = Self.router.decode(batch)
        var groups: [SubscriptionGroupRecord] = []
        var results: [SubscriptionCommandResult] = []
        for input in inputs {
            switch input {
            case .group(let value): groups.append(value)
            case .result(let value): results.append(value)
            }
        }
        try await db.transaction(logger: logger) { [self, groups, results] connection in
            try await SubscriptionGroupReplica.apply(groups, on: connection, logger: logger)
            for result in results { try await apply(result, on: connection) }
        }
        return failures
    }

    private func apply(_ result: SubscriptionCommandResult, on connection: PostgresConnection) async throws {
        let uploadId = result.correlationId
        var isNew = false
        for try await _ in try await connection.query(
            """
            INSERT INTO csv_upload_batches (upload_id, batch_id)
            SELECT id, \(result.batchId) FROM csv_uploads WHERE id = \(uploadId)
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger)
        { isNew = true }
        guard isNew else { return }  // a redelivered result, or not an upload of this service
        let rejected = result.rejected.compactMap { rejection in Int(rejection.reference ?? "").map { ($0, rejection) }
        }
        if !rejected.isEmpty {
            try await connection.query(
                """
                INSERT INTO csv_upload_errors (upload_id, row_number, code, message)
                SELECT \(uploadId), r, c, m FROM unnest(\(rejected.map(\.0))::int[], \(rejected.map(\.1.code.rawValue))::text[],
                                                        \(rejected.map(\.1.message))::text[]) AS e(r, c, m)
                """, logger: logger)
        }
        let rows = Set(rejected.map(\.0)).count
        try await connection.query(
            """
            UPDATE csv_uploads SET batches_done = batches_done + 1, rows_accepted = rows_accepted - \(rows), rows_rejected = rows_rejected + \(rows),
                status = CASE WHEN status = 'applying' AND batches_done + 1 >= batches_sent THEN 'completed' ELSE status END,
                finished_at = CASE WHEN status = 'applying' AND batches_done + 1 >= batches_sent THEN now() ELSE finished_at END
            WHERE id = \(uploadId)
            """, logger: logger)
    }
}
