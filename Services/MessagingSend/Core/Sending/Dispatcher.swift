import Contracts
import Foundation
import Kafka
import Logging
import Metrics
import Persistence
import ServiceKit
import ServiceLifecycle
import Tracing

/// Sends due messages: claim a batch (`preparing`), decide each (skip, later, send), mark the
/// sends `sending` and commit, then call the providers concurrently and record each outcome with
/// its event. A provider call only ever starts from a committed `sending` row, and nothing turns
/// `sending` back into `pending`: at most one call per message, whatever crashes.
public final class Dispatcher: Service, Sendable {
    public struct Settings: Sendable {
        public var batchSize = 100
        /// Batches in flight at once (each with its provider calls concurrent).
        public var workers = 8
        public var providerTimeout: Duration = .seconds(10)
        public var maxAttempts = 8
        public var pollInterval: Duration = .milliseconds(500)
        /// The longest wait of the first worker between unprompted runs once idle: it sleeps until
        /// the next message comes due, so this bounds only how late it notices messages nobody
        /// announced (those of an instance that died). The other workers run when woken.
        public var idleCeiling: Duration = .seconds(5)
        public init() {}
    }

    let store: MessageStore
    let preparer: SendPreparer
    let sendGrid: SendGridClient
    let twilio: TwilioClient
    let settings: Settings
    let logger: Logger
    /// One per worker: each worker drains on its own and waits for its own wake-up, so a worker
    /// kept busy by a steady stream never holds the others idle.
    let wakeups: [Wakeups]
    private let sent = Counter(label: "engage_messages_sent_total")
    private let skipped = Counter(label: "engage_messages_skipped_total")
    private let failed = Counter(label: "engage_messages_failed_total")
    private let retried = Counter(label: "engage_messages_retried_total")
    private let unknown = Counter(label: "engage_messages_unknown_total")
    private let callDuration = Timer(label: "engage_provider_call_seconds", preferredDisplayUnit: .seconds)
    private let requestToProvider = Timer(
        label: "engage_message_request_to_provider_seconds", preferredDisplayUnit: .seconds)

    /// The provider call, as a client span of the trace that requested the message; with the
    /// span's own `traceparent` (nil when tracing is off).
    private func call(_ send: PreparedSend) async -> (SendOutcome, String?) {
        let parent = TraceHeaders.context(of: send.row.traceParent.map { ["traceparent": $0] } ?? [:])
        let provider: String
        switch send.request {
        case .email: provider = "SendGrid"
        case .twilio: provider = "Twilio"
        }
        return await withSpan("\(provider) send", context: parent, ofKind: .client) { span in
            span.attributes["engage.message.id"] = send.row.id
            span.attributes["engage.provider"] = provider
            let trace = TraceHeaders.current()["traceparent"]
            switch send.request {
            case .email(let email, let settings, let secrets):
                return (await sendGrid.send(email, settings: settings, secrets: secrets), trace)
            case .twilio(let message, let settings, let secrets):
                return (await twilio.send(message, settings: settings, secrets: secrets), trace)
            }
        }
    }

    init(
        store: MessageStore, preparer: SendPreparer, sendGrid: SendGridClient, twilio: TwilioClient, settings: Settings,
        logger: Logger
    ) {
        self.store = store
        self.preparer = preparer
        self.sendGrid = sendGrid
        self.twilio = twilio
        self.settings = settings
        self.logger = logger
        self.wakeups = (0..<max(settings.workers, 1)).map { _ in Wakeups() }
    }

    public func wake() { for wakeup in wakeups { wakeup.wake() } }

    /// Seconds the `sending` lease lasts: the call's timeout plus time to record its outcome.
    var sendingLease: Double { settings.providerTimeout.inSeconds + 5 }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Leases are swept on their own clock: a busy dispatcher must still notice lost workers.
                try? await cancelWhenGracefulShutdown {
                    var lastPrune = ContinuousClock.now - .seconds(3_600)
                    while true {
                        let nextExpiry = await self.sweep()
                        if ContinuousClock.now - lastPrune >= .seconds(3_600) {
                            lastPrune = .now
                            do { try await self.preparer.policies.prune(now: Date()) } catch {
                                self.logger.warning("frequency ledger prune failed", metadata: ["error": "\(error)"])
                            }
                        }
                        // Until the next lease ends; leases taken meanwhile last longer than the cap.
                        try await Task.sleep(for: min(max(nextExpiry ?? .seconds(30), .seconds(2)), .seconds(30)))
                    }
                }
            }
            for (index, wakeup) in wakeups.enumerated() {
                group.addTask {
                    // Queued messages wake every worker. The first also sleeps until the next
                    // message comes due (a retry, a quiet-hours release) and wakes the others
                    // when it finds a full batch; they run only when woken.
                    await wakeup.run(
                        every: self.settings.pollInterval,
                        idleUpTo: index == 0 ? self.settings.idleCeiling : .seconds(60),
                        loop: "message dispatcher"
                    ) { () -> NextRun in
                        if await self.drain(wakingOthers: index == 0) { return .soon }
                        guard index == 0 else { return .idle }
                        do {
                            return try await self.store.nextDue().map { .dueIn($0) } ?? .idle
                        } catch {
                            self.logger.warning(
                                "looking for the next due message failed", metadata: ["error": "\(error)"])
                            return .soon
                        }
                    }
                }
            }
        }
        logger.info("dispatcher stopped")
    }

    /// Returns when the next lease ends (nil: no lease, or the sweep failed).
    private func sweep() async -> Duration? {
        do {
            let swept = try await store.sweepExpiredLeases()
            if swept.requeued > 0 { wake() }
            if swept.unknown > 0 {
                unknown.increment(by: swept.unknown)
                logger.warning(
                    "messages with an unknown outcome after a lost worker; waiting for provider callbacks",
                    metadata: ["count": "\(swept.unknown)"])
            }
            return swept.nextExpiry
        } catch {
            logger.error("lease sweep failed", metadata: ["error": "\(String(reflecting: error))"])
            return nil
        }
    }

    /// Claims and processes batches until none is due (or shutdown begins); whether it found any.
    /// `wakingOthers`: a full batch wakes the other workers to share what is due.
    private func drain(wakingOthers: Bool) async -> Bool {
        var found = false
        while !Task.isShuttingDownGracefully {
            do {
                let rows = try await store.claim(limit: settings.batchSize, lease: sendingLease + 30)
                if rows.isEmpty { return found }
                if wakingOthers, !found, rows.count == settings.batchSize { wake() }
                found = true
                try await process(rows)
            } catch {
                logger.error(
                    "dispatch failed; claimed messages return to pending when their lease ends",
                    metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: .seconds(1))
                return true
            }
        }
        return found
    }

    func process(_ rows: [MessageRow]) async throws {
        let decisions = try await preparer.prepare(rows)
        var transitions: [Transition] = []
        var events: [MessageEvent] = []
        var sends: [PreparedSend] = []
        let now = Date()
        for decision in decisions {
            switch decision {
            case .skip(let row, let reason, let detail):
                transitions.append(
                    Transition(
                        spaceId: row.spaceId, id: row.id, from: ["preparing"], to: "skipped", reason: reason,
                        errorMessage: detail))
                var event = row.event(MessageEventName.skipped(row.channel), id: "skipped", at: now)
                event.reason = reason
                event.errorMessage = detail
                events.append(event)
                skipped.increment()
                logger.info(
                    "message skipped",
                    metadata: ["message_id": "\(row.id)", "reason": "\(reason)", "detail": "\(detail)"])
            case .later(let row, let wait, let reason):
                transitions.append(
                    Transition(
                        spaceId: row.spaceId, id: row.id, from: ["preparing"], to: "pending", delay: wait.inSeconds,
                        reason: reason))
            case .send(let send):
                transitions.append(
                    Transition(
                        spaceId: send.row.spaceId, id: send.row.id, from: ["preparing"], to: "sending",
                        lease: sendingLease,
                        provider: send.request.provider, sender: send.sender, recipient: send.recipient,
                        templateVersion: send.version ?? -1, countAttempt: true))
                sends.append(send)
            }
        }
        let marked = try await store.apply(transitions, events: events)
        expectDelayed(transitions)
        let toCall = sends.filter { marked.contains($0.row.id) }
        guard !toCall.isEmpty else { return }

        let outcomes = await withTaskGroup(
            of: (PreparedSend, SendOutcome).self, returning: [(PreparedSend, SendOutcome)].self
        ) { group in
            for send in toCall {
                group.addTask {
                    let started = ContinuousClock.now
                    var send = send
                    let (outcome, callTrace) = await self.call(send)
                    // The message's events (now and from the provider's callbacks) follow from its call.
                    if let callTrace { send.row.traceParent = callTrace }
                    let elapsed = ContinuousClock.now - started
                    self.callDuration.recordNanoseconds(Int64(elapsed / .nanoseconds(1)))
                    self.requestToProvider.recordSeconds(Date().timeIntervalSince(send.row.requestedAt))
                    return (send, outcome)
                }
            }
            var all: [(PreparedSend, SendOutcome)] = []
            for await result in group { all.append(result) }
            return all
        }
        try await record(outcomes)
    }

    /// Each outcome's transition and event, in one transaction. An outcome arriving after the
    /// sweeper declared the message `unknown` still counts: it is the provider's answer.
    func record(_ outcomes: [(PreparedSend, SendOutcome)]) async throws {
        var transitions: [Transition] = []
        var events: [MessageEvent] = []
        var statusEvents: [MessageEvent] = []
        let now = Date()
        for (send, outcome) in outcomes {
            var row = send.row
            row.provider = send.request.provider
            row.recipient = send.recipient
            row.templateVersion = send.version
            let attempt = row.attempts + 1
            var base = Transition(spaceId: row.spaceId, id: row.id, from: ["sending", "unknown"], to: "")
            base.traceParent = row.traceParent ?? ""
            switch outcome {
            case .accepted(let providerId, let status):
                var transition = base
                transition.to = "sent"
                transition.providerMessageId = providerId
                transition.deliveryStatus = status ?? "accepted"
                transitions.append(transition)
                row.providerMessageId = providerId
                if row.channel == .email {
                    // SendGrid's own `processed` event gets the same id, so the two are one downstream.
                    events.append(row.event(MessageEventName.emailProcessed, id: "processed", at: now))
                } else {
                    // Twilio answers `queued`, or `accepted` through a Messaging Service; a callback may
                    // report the same status again, and the status's event goes out once.
                    let answer = status.flatMap(TwilioMessageStatus.init(loose:)) ?? .queued
                    // An answer that is no step of a send (never seen) still means Twilio has it: queued.
                    let event =
                        MessageEventName.twilio(row.channel, status: answer)
                        ?? MessageEventName.twilio(row.channel, status: .queued)!
                    statusEvents.append(row.event(event.name, id: event.idSuffix, at: now))
                }
                sent.increment()
                logger.info(
                    "message sent", metadata: ["message_id": "\(row.id)", "provider_message_id": "\(providerId)"])
            case .retry(let after, let code, let message) where attempt < settings.maxAttempts:
                var transition = base
                transition.from = ["sending"]
                transition.to = "pending"
                transition.delay = RetryBackoff.delay(attempt: attempt, retryAfter: after).inSeconds
                transition.errorCode = code
                transition.errorMessage = message
                transitions.append(transition)
                retried.increment()
                logger.warning(
                    "provider call will be retried",
                    metadata: ["message_id": "\(row.id)", "code": "\(code)", "attempt": "\(attempt)"])
            case .retry(_, let code, let message), .failed(let code, let message):
                var transition = base
                transition.to = "failed"
                transition.reason = "provider_error"
                transition.errorCode = code
                transition.errorMessage = message
                transitions.append(transition)
                var event = row.event(MessageEventName.failed(row.channel), id: "failed", at: now)
                event.reason = "provider_error"
                event.errorCode = code
                event.errorMessage = message
                events.append(event)
                failed.increment()
                logger.warning(
                    "message failed", metadata: ["message_id": "\(row.id)", "code": "\(code)", "error": "\(message)"])
            case .unknown(let reason):
                var transition = base
                transition.from = ["sending"]
                transition.to = "unknown"
                transition.reason = "outcome_unknown"
                transition.errorMessage = reason
                transitions.append(transition)
                unknown.increment()
                logger.warning(
                    "provider outcome unknown; waiting for its callback",
                    metadata: ["message_id": "\(row.id)", "error": "\(reason)"])
            }
        }
        try await store.apply(transitions, events: events, once: statusEvents)
        expectDelayed(transitions)
    }

    /// Messages put back to pending for later (quiet hours, a retry) come due then: the first
    /// worker, the one that sleeps until due messages, is told of the earliest.
    private func expectDelayed(_ transitions: [Transition]) {
        guard let delay = transitions.filter({ $0.to == "pending" && $0.delay >= 0 }).map(\.delay).min() else { return }
        wakeups[0].expect(at: Date().addingTimeInterval(delay))
    }
}
