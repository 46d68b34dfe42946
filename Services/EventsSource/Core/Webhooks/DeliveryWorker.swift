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
        /// The longest wait between unprompted runs once idle (see `Wakeups.run(every:idleUpTo:)`).
        public var idleCeiling: Duration = .seconds(2)
        public init() {}
    }

    let db: PostgresClient
    let sender: WebhookSender
    let secrets: DestinationSecrets
    let settings: Settings
    let wakeups = Wakeups()
    let logger: Logger
    let delivered = Counter(
        label: "engage_events_source_webhook_deliveries_total", dimensions: [("outcome", "delivered")])
    let failed = Counter(label: "engage_events_source_webhook_deliveries_total", dimensions: [("outcome", "failed")])
    let latency = Metrics.Timer(label: "engage_events_source_webhook_call_seconds")

    /// `policy`: where calls may go; `box`: opens the destinations' signing secrets.
    public init(db: PostgresClient, policy: EgressPolicy, box: SecretBox, settings: Settings, logger: Logger) {
        self.init(
            db: db,
            sender: WebhookSender(
                egress: EgressGuard(policy: policy, resolver: SystemResolver()), timeout: settings.timeout,
                connectionsPerHost: settings.concurrency),
            box: box, settings: settings, logger: logger)
    }

    init(db: PostgresClient, sender: WebhookSender, box: SecretBox, settings: Settings, logger: Logger) {
        self.db = db
        self.sender = sender
        self.secrets = DestinationSecrets(box: box)
        self.settings = settings
        self.logger = logger
        // The series exists from the start (at 0), so that `increase()` sees the first pause.
        DeliveryQueue.automaticPauses.increment(by: 0)
    }

    public func wake() { wakeups.wake() }

    public func run() async throws {
        // New events wake the worker; the unprompted runs find due retries, at most
        // `idleCeiling` late once idle.
        await wakeups.run(every: settings.interval, idleUpTo: settings.idleCeiling, loop: "webhook deliveries") {
            var found = false
            do {
                while try await deliverBatch() > 0, !Task.isCancelled, !Task.isShuttingDownGracefully { found = true }
            } catch {
                logger.warning("delivery pass failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                found = true
            }
            await sender.closeIdleConnections()
            return found
        }
        await sender.shutdown()
    }

    /// One claim, its calls and their outcomes; returns how many were claimed.
    func deliverBatch() async throws -> Int {
        let claimed = try await db.transaction(logger: logger) { [self] connection in
            try await DeliveryQueue.claim(
                limit: settings.batchSize, lease: settings.lease, on: connection, logger: logger)
        }
        guard !claimed.isEmpty else { return 0 }
        let outcomes = await withTaskGroup(of: DeliveryQueue.Outcome.self, returning: [DeliveryQueue.Outcome].self) {
            group in
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
        try await db.transaction(logger: logger) { [self] connection in
            try await DeliveryQueue.record(outcomes, maxAttempts: settings.maxAttempts, on: connection, logger: logger)
        }
        return claimed.count
    }

    private func call(_ delivery: DeliveryQueue.Claimed) async -> DeliveryQueue.Outcome {
        var outcome = DeliveryQueue.Outcome(delivery: delivery)
        let secret: String
        do {
            guard let sealed = delivery.sealedSecret else { throw DeliveryFailure.secretUnreadable }
            secret = try secrets.open(sealed, destinationId: delivery.destinationId)
        } catch {
            // The key changed, or the row predates sealing and startup has not sealed it yet.
            logger.error(
                "cannot open a destination's signing secret",
                metadata: [
                    "destination_id": "\(delivery.destinationId)", "error": "\(String(reflecting: error))",
                ])
            outcome.error = DeliveryFailure.secretUnreadable.rawValue
            outcome.retryAt = retryDate(attempt: delivery.attempts, retryAfter: nil)
            failed.increment()
            return outcome
        }
        let body = Array(delivery.payload.utf8)
        let timestamp = Int64(Date().timeIntervalSince1970)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: "swift-engage-webhooks/1")
        headers.add(name: WebhookSignature.idHeader, value: delivery.eventId)
        headers.add(name: WebhookSignature.timestampHeader, value: String(timestamp))
        headers.add(
            name: WebhookSignature.signatureHeader,
            value: WebhookSignature.sign(secret: secret, id: delivery.eventId, timestamp: timestamp, body: body))
        let started = ContinuousClock.now
        let answer = await sender.post(delivery.url, headers: headers, body: body)
        latency.recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
        outcome.status = answer.status
        if let failure = answer.failure {
            outcome.error = failure.rawValue
            outcome.retryAt = retryDate(attempt: delivery.attempts, retryAfter: nil)
        } else if let status = answer.status, !(200..<300).contains(status) {
            // The status only: the receiver's body may be anything, including an internal service's secrets.
            outcome.error = "HTTP \(status)"
            outcome.retryAt = retryDate(
                attempt: delivery.attempts, retryAfter: RetryBackoff.retryAfter(answer.retryAfter))
        }
        if outcome.succeeded {
            delivered.increment()
        } else {
            failed.increment()
            logger.info(
                "webhook delivery failed",
                metadata: [
                    "destination_id": "\(delivery.destinationId)", "event_id": "\(delivery.eventId)",
                    "attempt": "\(delivery.attempts)",
                    "error": "\(outcome.error ?? "")", "detail": "\(answer.detail ?? "")",
                ])
        }
        return outcome
    }

    private func retryDate(attempt: Int, retryAfter: Duration?) -> Date {
        let delay = RetryBackoff.delay(
            attempt: attempt, retryAfter: retryAfter, base: settings.retryBase, cap: settings.retryCap)
        return Date().addingTimeInterval(Double(delay / .milliseconds(1)) / 1000)
    }
}
