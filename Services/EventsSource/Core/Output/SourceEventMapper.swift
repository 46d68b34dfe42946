import Contracts
import Foundation
import Persistence

/// Turns one platform event into the Segment-spec `track` events downstream tools receive. Property
/// names are snake_case, as in Segment's specs; every property a tool needs to attribute, dedupe
/// or rebuild state is present.
enum SourceEventMapper {
    static let channelSubscriptionUpdated = "Channel Subscription Updated"
    static let groupSubscriptionUpdated = "Group Subscription Updated"
    /// Engage's "the recipient subscribed to all emails": the global email state became subscribed.
    static let emailSubscribed = "Email Subscribed"

    /// Every event name the service publishes: message events as messaging-send names them, and
    /// the names this mapper gives. The docs' tables are checked against it.
    static var emittedNames: Set<String> {
        var names = MessageEventName.emitted.union([AudienceMembershipEvent.entered, AudienceMembershipEvent.exited])
        names.formUnion(JourneyEvent.Name.all)
        for channel in SubscriptionChannel.allCases {
            for status in SubscriptionStatus.allCases {
                for group in [false, true] {
                    names.formUnion(subscriptionEventNames(channel: channel, group: group, status: status))
                }
            }
        }
        return names
    }

    /// The events one subscription change becomes: the state's `... Subscription Updated`, and
    /// `Email Subscribed` when the global email state became subscribed (a change always changes the
    /// status, so the contact was not subscribed before).
    static func subscriptionEventNames(
        channel: SubscriptionChannel, group: Bool,
        status: SubscriptionStatus
    ) -> [String] {
        if group { return [groupSubscriptionUpdated] }
        if channel == .email && status == .subscribed { return [channelSubscriptionUpdated, emailSubscribed] }
        return [channelSubscriptionUpdated]
    }

    /// `profile`: the replica's view of the person (may be nil: not replicated yet, or a contact
    /// with no profile). `consentVersion`: the change's position in its state's history. `group`:
    /// the subscription group a message event names, as the group replica knows it.
    static func events(
        _ input: SourceInput, profile: ProfileSnapshot?, consentVersion: Int64? = nil,
        group: SubscriptionChange.GroupRef? = nil, now: Date
    ) -> [SourceEvent] {
        let messageId = SourceEvent.messageId(spaceId: input.spaceId, origin: input.origin, inputId: input.id)
        switch input {
        case .message(let message):
            var event = base(
                input, event: message.event, messageId: messageId, profileId: message.profileId,
                profile: profile, timestamp: message.occurredAt, now: now)
            if let contact = message.contact { assign(contact: contact, channel: message.channel, to: &event) }
            event.properties = messageProperties(message, group: group)
            return [event]
        case .subscription(let change):
            let names = subscriptionEventNames(
                channel: change.channel, group: change.group != nil,
                status: change.status)
            var event = base(
                input, event: names[0], messageId: messageId, profileId: profile?.profileId,
                profile: profile, timestamp: change.occurredAt, now: now)
            assign(contact: change.contact, channel: change.channel, to: &event)
            var properties: [String: JSONValue] = [
                "channel": .string(change.channel.columnName),
                "contact": .string(change.contact),
                "subscription_status": .string(change.status.rawValue),
                "previous_subscription_status": change.previousStatus.map { .string($0.rawValue) } ?? .null,
                "source": .string(change.source.rawValue),
                "command_id": .string(change.commandId),
                "recorded_at": .string(Timestamp.format(change.recordedAt)),
            ]
            if let version = consentVersion { properties["version"] = .number(Double(version)) }
            if let origin = change.origin { properties["origin"] = .string(origin) }
            if let group = change.group {
                properties["group_id"] = .string(group.id)
                properties["group_name"] = .string(group.name)
            }
            event.properties = properties
            // The same change under Engage's own name too, with an id of its own.
            return names.enumerated().map { index, name in
                guard index > 0 else { return event }
                var named = event
                named.event = name
                named.messageId = SourceEvent.messageId(
                    spaceId: input.spaceId, origin: input.origin,
                    inputId: "\(input.id)|\(name)")
                return named
            }
        case .membership(let membership):
            var event = base(
                input, event: membership.event, messageId: messageId, profileId: membership.profileId, profile: profile,
                timestamp: membership.occurredAt, now: now)
            event.fillIdentity(
                userId: membership.userId, anonymousId: membership.anonymousIds.first, email: membership.email,
                phone: membership.phone)
            event.traits = membership.traits
            var properties: [String: JSONValue] = [
                "audience_id": .string(membership.audienceId),
                "audience_key": .string(membership.audienceKey),
                "audience_name": .string(membership.audienceName),
                "audience_version": .number(Double(membership.audienceVersion)),
                "reason": .string(membership.reason.rawValue),
                // Segment's Engage convention: the audience key as a boolean property.
                membership.audienceKey: .bool(membership.event == AudienceMembershipEvent.entered),
            ]
            if let mergedInto = membership.mergedInto { properties["merged_into"] = .string(mergedInto) }
            event.properties = properties
            return [event]
        case .journey(let journey):
            var event = base(
                input, event: journey.event, messageId: messageId, profileId: journey.profileId, profile: profile,
                timestamp: journey.occurredAt, now: now)
            event.fillIdentity(
                userId: journey.userId, anonymousId: journey.anonymousIds?.first, email: journey.email,
                phone: journey.phone)
            event.properties = present([
                ("journey_id", journey.journeyId), ("journey_name", journey.journeyName),
                ("broadcast_id", journey.broadcastId),
                ("instance_id", journey.instanceId), ("step_id", journey.stepId), ("step_name", journey.stepName),
                ("step_type", journey.stepType), ("branch", journey.branch), ("message_id", journey.messageId),
                ("channel", journey.channel?.columnName), ("template_id", journey.templateId),
                ("goal_event", journey.goalEvent),
                ("conversion_message_id", journey.conversionMessageId), ("reason", journey.reason),
            ])
            if let version = journey.journeyVersion { event.properties["journey_version"] = .number(Double(version)) }
            return [event]
        }
    }

    private static func base(
        _ input: SourceInput, event: String, messageId: String, profileId: String?, profile: ProfileSnapshot?,
        timestamp: Date, now: Date
    ) -> SourceEvent {
        SourceEvent(
            spaceId: input.spaceId, event: event, messageId: messageId, userId: profile?.userId,
            anonymousId: profile?.anonymousId,
            profileId: profileId, email: profile?.email, phone: profile?.phone, properties: [:], traits: [:],
            origin: input.origin, timestamp: timestamp, receivedAt: now)
    }

    /// The address the event is about overrides the profile's (a profile may have several).
    private static func assign(contact: String, channel: SubscriptionChannel, to event: inout SourceEvent) {
        switch channel {
        case .email: event.email = contact
        case .sms: event.phone = contact
        case .whatsapp:
            event.phone = contact.hasPrefix("whatsapp:") ? String(contact.dropFirst("whatsapp:".count)) : contact
        }
    }

    /// `group`: the replica's record of the group the event names (its id; its name as now spelled).
    static func messageProperties(_ message: MessageEvent, group: SubscriptionChange.GroupRef?) -> [String: JSONValue] {
        var properties = present([
            ("message_id", message.messageId), ("contact", message.contact), ("template_id", message.templateId),
            ("purpose", message.purpose?.rawValue), ("journey_id", message.journeyId),
            ("journey_step_id", message.journeyStepId),
            ("broadcast_id", message.broadcastId), ("destination_id", message.destinationId),
            ("action_id", message.actionId),
            ("provider", message.provider), ("provider_message_id", message.providerMessageId),
            ("link_url", message.url), ("reason", message.reason), ("error_code", message.errorCode),
            ("error_message", message.errorMessage), ("body", message.body),
            ("group_id", group?.id), ("group_name", group?.name ?? message.group),
        ])
        properties["channel"] = .string(message.channel.columnName)
        properties["test"] = .bool(message.test)
        if let version = message.templateVersion { properties["template_version"] = .number(Double(version)) }
        return properties
    }

    /// String properties, absent ones left out.
    private static func present(_ pairs: [(String, String?)]) -> [String: JSONValue] {
        var properties: [String: JSONValue] = [:]
        for case (let key, let value?) in pairs { properties[key] = .string(value) }
        return properties
    }
}

extension SourceEvent {
    /// What the input itself says about the person, where the replica knew nothing.
    mutating func fillIdentity(userId: String?, anonymousId: String?, email: String?, phone: String?) {
        self.userId = self.userId ?? userId
        self.anonymousId = self.anonymousId ?? anonymousId
        self.email = self.email ?? email
        self.phone = self.phone ?? phone
    }
}
