import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import Persistence
import PostgresNIO
import ServiceKit
import ServiceLifecycle

/// Delivers queued events to webhook destinations: claims due deliveries (leased, `SKIP LOCKED`,
/// so several instances share the queue), posts each signed, and records the outcomes. A crash
/// mid-call lets the lease run out and the delivery goes again with the same `webhook-id`.
public struct DeliveryWorker: Service {
    public struct Settings: Sendable {
        public var batchSize = 500
        public var concurrency = 64
        public var timeout: Duration = .seconds(10)
        public var lease: Duration = .seconds(60)
        public var retryBase: Duration = .seconds(1)
        public var retryCap: Duration = .seconds(600)
        /// A delivery that fails this many times pauses its destination.
        public var maxAttempts = 10
        public var interval: Duration = .milliseconds(250)
        public init() {}
    }

    let db: PostgresClient
    let http: HTTPClient
    let settings: Settings
    let wakeups = Wakeups()
    let logger: Logger
    let delivered = Counter(label: "events_source_webhook_deliveries_total", dimensions: [("outcome", "delivered")])
    let failed = Counter(label: "events_source_webhook_deliveries_total", dimensions: [("outcome", "failed")])
    let latency = Metrics.Timer(label: "events_source_webhook_call_seconds")

    public init(db: PostgresClient, http: HTTPClient, settings: Settings, logger: Logger) {
        self.db = db
        self.http = http
        self.settings = settings
        self.logger = logger
    }

    public func wake() { wakeups.wake() }

    public func run() async throws {
        await wakeups.run(every: settings.interval) {
            do {
                while try await deliverBatch() > 0, !Task.isCancelled {}
            } catch {
                logger.warning("delivery pass failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    /// One claim, its calls and their outcomes; returns how many were claimed.
    func deliverBatch() async throws -> Int {
        let claimed = try await db.withTransaction(logger: logger) { connection in
            try await DeliveryQueue.claim(limit: settings.batchSize, lease: settings.lease, on: connection, logger: logger)
        }
        guard !claimed.isEmpty else { return 0 }
        let outcomes = await withTaskGroup(of: DeliveryQueue.Outcome.self, returning: [DeliveryQueue.Outcome].self) { group in
            var outcomes: [DeliveryQueue.Outcome] = []
            var next = claimed.makeIterator()
            for _ in 0..<min(settings.concurrency, claimed.count) {
                if let delivery = next.next() { group.addTask { await call(delivery) } }
            }
            for await outcome in group {
                outcomes.append(outcome)
                if let delivery = next.next() { group.addTask { await call(delivery) } }
            }
            return outcomes
        }
        try await db.withTransaction(logger: logger) { connection in
            try await DeliveryQueue.record(outcomes, maxAttempts: settings.maxAttempts, on: connection, logger: logger)
        }
        return claimed.count
    }

    private func call(_ delivery: DeliveryQueue.Claimed) async -> DeliveryQueue.Outcome {
        let body = Array(delivery.payload.utf8)
        let timestamp = Int64(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "swift-engage-webhooks/1")
        request.headers.add(name: WebhookSignature.idHeader, value: delivery.eventId)
        request.headers.add(name: WebhookSignature.timestampHeader, value: String(timestamp))
        request.headers.add(name: WebhookSignature.signatureHeader,
                            value: WebhookSignature.sign(secret: delivery.secret, id: delivery.eventId, timestamp: timestamp, body: body))
        request.body = .bytes(ByteBuffer(bytes: body))
        let started = ContinuousClock.now
        var outcome = DeliveryQueue.Outcome(delivery: delivery)
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(Int64(settings.timeout / .nanoseconds(1))))
            // Read (and drop) the answer so the connection can be reused.
            let answer = try await response.body.collect(upTo: 64 * 1024)
            outcome.status = Int(response.status.code)
            if !(200..<300).contains(response.status.code) {
                let retryAfter = RetryBackoff.retryAfter(response.headers.first(name: "Retry-After"))
                outcome.error = "HTTP \(response.status.code): " + String(decoding: answer.readableBytesView.prefix(200), as: UTF8.self)
                outcome.retryAt = retryDate(attempt: delivery.attempts, retryAfter: retryAfter)
            }
        } catch {
            outcome.error = "\(error)"
            outcome.retryAt = retryDate(attempt: delivery.attempts, retryAfter: nil)
        }
        latency.recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
        if outcome.succeeded {
            delivered.increment()
        } else {
            failed.increment()
            logger.info("webhook delivery failed", metadata: [
                "destination_id": "\(delivery.destinationId)", "event_id": "\(delivery.eventId)", "attempt": "\(delivery.attempts)",
                "error": "\(outcome.error ?? "")",
            ])
        }
        return outcome
    }

    private func retryDate(attempt: Int, retryAfter: Duration?) -> Date {
        let delay = RetryBackoff.delay(attempt: attempt, retryAfter: retryAfter, base: settings.retryBase, cap: settings.retryCap)
        return Date().addingTimeInterval(Double(delay / .milliseconds(1)) / 1000)
    }
}
