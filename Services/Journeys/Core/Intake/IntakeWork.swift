import Contracts
import Foundation
import Logging
import Persistence
import PostgresNIO

extension JourneyConsumer {
    /// The effects of one batch, gathered while its inputs are applied in order and written at the end.
    struct Work {
        let consumer: JourneyConsumer
        let now: Date
        var counter = StepCounter()
        var outbox: [OutboxMessage] = []
        /// Whether anything was written that the relay or the advancer should look at now.
        var wrote = false

        init(consumer: JourneyConsumer, now: Date) {
            self.consumer = consumer
            self.now = now
        }

        var logger: Logger { consumer.logger }

        mutating func finish(on connection: PostgresConnection) async throws {
            try await counter.flush(on: connection, logger: logger)
            try await Outbox.enqueue(outbox, on: connection, logger: logger)
            if !outbox.isEmpty { wrote = true }
        }

        // MARK: audience membership

        mutating func membership(_ change: AudienceMembershipEvent, on connection: PostgresConnection) async throws {
            let entered = change.event == AudienceMembershipEvent.entered
            if entered {
                try await connection.query(
                    """
                    INSERT INTO audience_members (space_id, audience_id, profile_id) VALUES (\(change.spaceId), \(change.audienceId), \(change.profileId))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            } else {
                try await connection.query(
                    """
                    DELETE FROM audience_members WHERE space_id = \(change.spaceId) AND audience_id = \(change.audienceId) AND profile_id = \(change.profileId)
                    """, logger: logger)
            }
            let live = consumer.catalog.live(spaceId: change.spaceId)
            let concerned = live.filter { journey in
                if case .audience(let id, _) = journey.ref.definition.entry { return id == change.audienceId }
                return false
            }
            guard !concerned.isEmpty else { return }
            if entered {
                let candidates = concerned.filter {
                    $0.status == "published" && change.occurredAt >= $0.firstPublishedAt
                }.map { journey in
                    InstanceWriter.Candidate(
                        journey: journey.ref, profileId: change.profileId, triggerId: change.id,
                        trigger: [
                            "audienceId": .string(change.audienceId), "audienceKey": .string(change.audienceKey),
                            "audienceName": .string(change.audienceName),
                        ])
                }
                outbox += try await consumer.writer.enter(candidates, now: now, on: connection).map { try $0.outbox() }
            } else {
                let exiting = concerned.filter { $0.ref.definition.exitRules.contains(.leftAudience) }.map(
                    \.ref.journeyId)
                try await exitActive(
                    spaceId: change.spaceId, profileId: change.profileId, journeyIds: exiting, reason: "left_audience",
                    on: connection)
            }
        }

        // MARK: profile events

        mutating func profileEvent(_ event: ProfileEvent, on connection: PostgresConnection) async throws {
            guard event.message.type == .track, let name = event.message.event else { return }
            let properties = event.message.properties ?? [:]
            let live = consumer.catalog.live(spaceId: event.spaceId)
            // Exit rules first, so an event that both ends and starts a pass does both in that order.
            let exitCandidates = live.filter { journey in
                journey.ref.definition.exitRules.contains { rule in
                    if case .event(let match) = rule { return match.matches(event: name, properties: properties) }
                    return false
                }
            }.map(\.ref.journeyId)
            try await exitActive(
                spaceId: event.spaceId, profileId: event.profileId, journeyIds: exitCandidates,
                reason: "exit_event:\(name)", on: connection)
            // A space without journeys has no waiting paths (archiving ends them all).
            if !live.isEmpty { try await resumeWaits(event, name: name, properties: properties, on: connection) }
            let candidates = live.filter { journey in
                guard journey.status == "published", event.occurredAt >= journey.firstPublishedAt,
                    case .event(let match) = journey.ref.definition.entry
                else { return false }
                return match.matches(event: name, properties: properties)
            }.map { journey in
                InstanceWriter.Candidate(
                    journey: journey.ref, profileId: event.profileId, triggerId: event.id,
                    trigger: [
                        "event": .string(name), "properties": .object(properties),
                        "messageId": .string(event.message.messageId),
                    ])
            }
            outbox += try await consumer.writer.enter(candidates, now: now, on: connection).map { try $0.outbox() }
            try await convert(event, name: name, properties: properties, on: connection)
            if live.contains(where: { $0.ref.definition.usesEventHistory }) {
                try await connection.query(
                    """
                    INSERT INTO profile_events (space_id, event_id, profile_id, event, properties, occurred_at)
                    SELECT \(event.spaceId), \(event.id), \(event.profileId), \(name), \(JSONValue.object(properties).json)::jsonb, \(event.occurredAt)
                    WHERE EXISTS (SELECT 1 FROM instances WHERE space_id = \(event.spaceId) AND profile_id = \(event.profileId) AND status = 'active')
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
        }

        /// Awaited events: a waiting path whose step awaits this event takes that branch. The path is
        /// made due now; the advancer moves it (and holds it while its journey is paused).
        private mutating func resumeWaits(
            _ event: ProfileEvent, name: String, properties: [String: JSONValue], on connection: PostgresConnection
        ) async throws {
            var waiting:
                [(
                    instanceId: String, pathId: String, journeyId: String, version: Int, stepId: String,
                    enteredAt: Date?
                )] = []
            for try await row in try await connection.query(
                """
                SELECT instance_id, path_id, journey_id, version, step_id, step_entered_at FROM paths
                WHERE space_id = \(event.spaceId) AND profile_id = \(event.profileId) AND status = 'waiting' AND resume_branch IS NULL
                FOR UPDATE
                """, logger: logger
            ).decode((String, String, String, Int, String, Date?).self) {
                waiting.append(row)
            }
            for path in waiting {
                guard
                    let journey = try await consumer.catalog.version(
                        spaceId: event.spaceId, journeyId: path.journeyId, version: path.version, on: connection),
                    case .waitForEvent(let branches, _, _)? = journey.definition.stepsById[path.stepId]?.kind,
                    event.occurredAt >= (path.enteredAt ?? .distantPast),
                    let branch = branches.first(where: { $0.match.matches(event: name, properties: properties) })
                else { continue }
                try await connection.query(
                    """
                    UPDATE paths SET resume_branch = \(branch.name), due_at = \(now)
                    WHERE space_id = \(event.spaceId) AND instance_id = \(path.instanceId) AND path_id = \(path.pathId) AND status = 'waiting'
                    """, logger: logger)
                wrote = true
            }
        }

        /// Conversion goals: a message's recipient performed its goal within the window.
        private mutating func convert(
            _ event: ProfileEvent, name: String, properties: [String: JSONValue], on connection: PostgresConnection
        ) async throws {
            var open:
                [(
                    messageId: String, instanceId: String, journeyId: String, version: Int, stepId: String,
                    channel: String, templateId: String
                )] = []
            for try await row in try await connection.query(
                """
                SELECT message_id, instance_id, journey_id, version, step_id, channel, template_id FROM conversion_goals
                WHERE space_id = \(event.spaceId) AND profile_id = \(event.profileId) AND converted_at IS NULL AND NOT closed
                    AND goal_event = \(name) AND window_start <= \(event.occurredAt) AND window_end >= \(event.occurredAt)
                FOR UPDATE
                """, logger: logger
            ).decode((String, String, String, Int, String, String, String).self) {
                open.append(row)
            }
            guard !open.isEmpty else { return }
            let profile =
                try await consumer.profiles.profiles(spaceId: event.spaceId, ids: [event.profileId], on: connection)[
                    event.profileId]
                ?? ProfileSnapshot(profileId: event.profileId)
            for goal in open {
                guard
                    let journey = try await consumer.catalog.version(
                        spaceId: event.spaceId, journeyId: goal.journeyId, version: goal.version, on: connection),
                    case .send(let action, _)? = journey.definition.stepsById[goal.stepId]?.kind,
                    let target = action.goal, target.match.matches(event: name, properties: properties)
                else { continue }
                try await connection.query(
                    """
                    UPDATE conversion_goals SET converted_at = \(event.occurredAt), conversion_event_id = \(event.message.messageId)
                    WHERE space_id = \(event.spaceId) AND message_id = \(goal.messageId)
                    """, logger: logger)
                counter.add(
                    .converted,
                    .init(spaceId: event.spaceId, journeyId: goal.journeyId, version: goal.version, stepId: goal.stepId)
                )
                var converted = JourneyEvent.about(
                    JourneyEvent.Name.converted, scope: goal.messageId, journey: journey, instanceId: goal.instanceId,
                    profile: profile, at: event.occurredAt)
                converted.stepId = goal.stepId
                converted.stepName = journey.definition.stepsById[goal.stepId]?.name
                converted.stepType = "send"
                converted.messageId = goal.messageId
                converted.channel = SubscriptionChannel(rawValue: goal.channel)
                converted.templateId = goal.templateId
                converted.goalEvent = name
                converted.conversionMessageId = event.message.messageId
                outbox.append(try converted.outbox())
            }
        }

        // MARK: message events

        mutating func messageEvent(_ event: MessageEvent, on connection: PostgresConnection) async throws {
            guard !event.test, let messageId = event.messageId, let metric = MessageMetric.of(event: event.event) else {
                return
            }
            if event.journeyId != nil {
                if metric.reachedProvider {
                    try await connection.query(
                        """
                        UPDATE conversion_goals SET window_start = \(event.occurredAt),
                            window_end = \(event.occurredAt) + window_seconds * interval '1 second'
                        WHERE space_id = \(event.spaceId) AND message_id = \(messageId) AND window_start IS NULL AND NOT closed
                        """, logger: logger)
                } else if metric.neverArrives {
                    try await connection.query(
                        """
                        UPDATE conversion_goals SET closed = true
                        WHERE space_id = \(event.spaceId) AND message_id = \(messageId) AND window_start IS NULL
                        """, logger: logger)
                }
            }
            if let broadcastId = event.broadcastId {
                try await connection.query(
                    """
                    INSERT INTO broadcast_outcomes (space_id, broadcast_id, message_id, outcome) VALUES (\(event.spaceId), \(broadcastId), \(messageId), \(metric.rawValue))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
        }

        // MARK: exits

        private mutating func exitActive(
            spaceId: String, profileId: String, journeyIds: [String], reason: String, on connection: PostgresConnection
        ) async throws {
            guard !journeyIds.isEmpty else { return }
            var exits: [InstanceWriter.Exit] = []
            for try await id in try await connection.query(
                """
                SELECT id FROM instances WHERE space_id = \(spaceId) AND profile_id = \(profileId) AND status = 'active' AND journey_id = ANY(\(journeyIds))
                """, logger: logger
            ).decode(String.self) {
                exits.append(.init(spaceId: spaceId, instanceId: id))
            }
            outbox += try await consumer.writer.exit(
                exits, reason: reason, catalog: consumer.catalog, counter: &counter, now: now, on: connection
            )
            .map { try $0.outbox() }
        }
    }
}
