import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle

/// Bounds the tables that grow with traffic: input ids older than the dedupe window (a redelivery
/// comes within minutes; the window is days) and delivered webhook deliveries older than the
/// delivery log's retention. Undelivered ones are never removed.
struct Housekeeping: Service {
    let db: PostgresClient
    let dedupeWindow: Duration
    let deliveryLogRetention: Duration
    let interval: Duration
    let logger: Logger

    init(
        db: PostgresClient, dedupeWindow: Duration, deliveryLogRetention: Duration,
        interval: Duration = .seconds(3_600), logger: Logger
    ) {
        self.db = db
        self.dedupeWindow = dedupeWindow
        self.deliveryLogRetention = deliveryLogRetention
        self.interval = interval
        self.logger = logger
    }

    func run() async throws {
        await Wakeups().run(every: interval, loop: "events-source housekeeping") {
            do {
                try await prune()
            } catch {
                logger.warning(
                    "housekeeping failed; trying again later", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    func prune() async throws {
        let now = Date()
        let inputsBefore = now.addingTimeInterval(-dedupeWindow.inSeconds)
        let deliveriesBefore = now.addingTimeInterval(-deliveryLogRetention.inSeconds)
        try await db.query("DELETE FROM processed_inputs WHERE processed_at < \(inputsBefore)", logger: logger)
        try await db.query(
            "DELETE FROM deliveries WHERE status = 'delivered' AND delivered_at < \(deliveriesBefore)", logger: logger)
    }
}
