import Contracts
import Foundation
import Persistence
import Testing

@testable import EventsSourceCore

@Suite struct SourceEventMapperTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    func change(
        group: SubscriptionChange.GroupRef? = nil, previous: SubscriptionStatus? = nil,
        status: SubscriptionStatus = .unsubscribed, channel: SubscriptionChannel = .email,
        contact: String = "ada@example.com"
    ) -> SubscriptionChange {
        SubscriptionChange(
            spaceId: "sp1", channel: channel, contact: contact, group: group, previousStatus: previous,
            status: status, source: .unsubscribeLink, origin: "msg-1", commandId: "cmd-1",
            occurredAt: now, recordedAt: now)
    }

    /// The one event an input becomes.
    func single(
        _ input: SourceInput, profile: ProfileSnapshot? = nil, consentVersion: Int64? = nil,
        group: SubscriptionChange.GroupRef? = nil
    ) throws -> SourceEvent {
        let events = SourceEventMapper.events(
            input, profile: profile, consentVersion: consentVersion, group: group,
            now: now)
        #expect(events.count == 1)
        return try #require(events.first)
    }

    /// The Segment JSON of the one event an input becomes.
    func json(_ input: SourceInput, profile: ProfileSnapshot? = nil) throws -> [String: JSONValue] {
        try #require(JSONParser.parse(Array(try single(input, profile: profile).json.utf8)).objectValue)
    }

    func externalId(_ id: String, _ type: String) -> JSONValue {
        ["id": .string(id), "type": .string(type), "collection": "users", "encoding": "none"]
    }

    @Test func subscriptionChangesAreChannelOrGroupEventsWithTheirVersion() throws {
        let profile = ProfileSnapshot(profileId: "pr1", userId: "u1", anonymousId: "anon1", email: "old@example.com")
        let channel = try single(.subscription(change(previous: .subscribed)), profile: profile, consentVersion: 3)
        #expect(channel.event == "Channel Subscription Updated")
        #expect(channel.key == "pr1")
        #expect(channel.userId == "u1")
        // The address the change is about, not the profile's other one.
        #expect(channel.email == "ada@example.com")
        #expect(channel.properties["subscription_status"] == "unsubscribed")
        #expect(channel.properties["previous_subscription_status"] == "subscribed")
        #expect(channel.properties["version"] == .number(3))
        #expect(channel.properties["source"] == "unsubscribe_link")

        let group = try single(.subscription(change(group: .init(id: "g1", name: "Weekly"))), consentVersion: 1)
        #expect(group.event == "Group Subscription Updated")
        #expect(group.properties["group_name"] == "Weekly")
        #expect(group.properties["previous_subscription_status"] == .null)
        // Without a known profile the contact keys the event (for ordering) but is no identity.
        #expect(group.key == "ada@example.com")
        let json = try #require(JSONParser.parse(Array(group.json.utf8)).objectValue)
        #expect(json["type"] == "track")
    }

    @Test func aContactIsNeverAnIdentityOnlyAnExternalId() throws {
        let contacts: [(SubscriptionChannel, String, String)] = [
            (.email, "ada@example.com", "email"), (.sms, "+14155550100", "phone"), (.whatsapp, "+14155550100", "phone"),
        ]
        for (channel, contact, type) in contacts {
            let event = try json(.subscription(change(channel: channel, contact: contact)))
            #expect(!event.keys.contains("anonymousId") && !event.keys.contains("userId"), "\(channel): \(event)")
            #expect(event["context"]?["externalIds"] == [externalId(contact, type)])
        }
        // Once the profile is known, its ids are there, beside the contact.
        let known = try json(.subscription(change()), profile: ProfileSnapshot(profileId: "pr1", userId: "u1"))
        #expect(known["userId"] == "u1" && !known.keys.contains("anonymousId"))
        let externalIds = try #require(known["context"]?["externalIds"]?.arrayValue)
        #expect(externalIds.contains(externalId("u1", "user_id")))
        #expect(externalIds.contains(externalId("ada@example.com", "email")))
        // A profile with neither id is named by its profile id, never by its address.
        let bare = ProfileSnapshot(profileId: "pr2", email: "bo@example.com")
        let unnamed = try json(.subscription(change()), profile: bare)
        #expect(unnamed["anonymousId"] == "pr2")
    }

    @Test func aGlobalEmailSubscribeIsAlsoEmailSubscribed() throws {
        let resubscribed = change(previous: .unsubscribed, status: .subscribed)
        let events = SourceEventMapper.events(.subscription(resubscribed), profile: nil, consentVersion: 4, now: now)
        #expect(events.map(\.event) == ["Channel Subscription Updated", "Email Subscribed"])
        #expect(events[0].messageId != events[1].messageId)
        #expect(events[1].properties == events[0].properties)
        #expect(events[1].properties["version"] == .number(4))
        // Not for a group, another channel, or another status.
        _ = try single(.subscription(change(group: .init(id: "g1", name: "Weekly"), status: .subscribed)))
        _ = try single(.subscription(change(status: .subscribed, channel: .sms, contact: "+14155550100")))
        _ = try single(.subscription(change(previous: .subscribed, status: .didNotSubscribe)))
    }

    @Test func groupEventsNameTheGroupByIdAndName() throws {
        var event = MessageEvent(
            id: "m1:group", spaceId: "sp1", event: "Email Group Unsusbcribed", channel: .email,
            messageId: "m1", profileId: "pr1", contact: "ada@example.com", occurredAt: now,
            recordedAt: now)
        event.group = "newsletter"
        let known = try single(.message(event), group: .init(id: "grp_1", name: "Newsletter"))
        #expect(known.properties["group_id"] == "grp_1" && known.properties["group_name"] == "Newsletter")
        // A group the replica does not know yet keeps the name the event gave.
        let unknown = try single(.message(event))
        #expect(!unknown.properties.keys.contains("group_id") && unknown.properties["group_name"] == "newsletter")
        event.group = nil
        #expect(!(try single(.message(event)).properties.keys.contains("group_name")))
    }

    @Test func messageIdsAreDeterministicPerSpaceOriginAndInput() {
        let id = SourceEvent.messageId(spaceId: "sp1", origin: "message", inputId: "m1:processed")
        #expect(id == SourceEvent.messageId(spaceId: "sp1", origin: "message", inputId: "m1:processed"))
        #expect(id != SourceEvent.messageId(spaceId: "sp2", origin: "message", inputId: "m1:processed"))
        #expect(id != SourceEvent.messageId(spaceId: "sp1", origin: "journey", inputId: "m1:processed"))
        #expect(id.hasPrefix("engage-") && id.count == 39)
    }

    @Test func messageEventsCarryWhatAToolNeedsToAttributeThem() throws {
        var event = MessageEvent(
            id: "m1:click", spaceId: "sp1", event: "Email Link Clicked", channel: .email, messageId: "m1",
            profileId: "pr1", contact: "ada@example.com", occurredAt: now, recordedAt: now)
        event.templateId = "t1"
        event.templateVersion = 2
        event.journeyId = "j1"
        event.journeyStepId = "s1"
        event.url = "https://shop.example/a"
        event.destinationId = "mdst_1"
        event.actionId = "act_1"
        let mapped = try single(.message(event))
        #expect(mapped.properties["link_url"] == "https://shop.example/a")
        #expect(mapped.properties["destination_id"] == "mdst_1" && mapped.properties["action_id"] == "act_1")
        #expect(mapped.properties["template_version"] == .number(2))
        #expect(mapped.properties["journey_step_id"] == "s1")
        #expect(mapped.properties["channel"] == "email")
        let json = try #require(JSONParser.parse(Array(mapped.json.utf8)).objectValue)
        let externalIds = try #require(json["context"]?["externalIds"]?.arrayValue)
        #expect(
            externalIds.contains(["id": "ada@example.com", "type": "email", "collection": "users", "encoding": "none"]))
        #expect(json["anonymousId"] == "pr1")
    }

    @Test func audienceEventsCarryTheKeyAsABoolean() throws {
        let entered = AudienceMembershipEvent(
            spaceId: "sp1", entered: true, audienceId: "a1", audienceKey: "vip", audienceName: "VIP",
            audienceVersion: 1, profileId: "pr1", userId: "u1", email: nil, phone: nil, anonymousIds: [],
            traits: ["plan": "pro"], reason: .realtime, occurredAt: now, sequence: 7)
        let mapped = try single(.membership(entered))
        #expect(mapped.event == "Audience Entered")
        #expect(mapped.properties["vip"] == true)
        #expect(mapped.userId == "u1")
        #expect(mapped.traits["plan"] == "pro")
    }
}

@Suite struct WebhookPiecesTests {
    /// The Standard Webhooks reference vector: receivers' libraries verify what this signs.
    @Test func signaturesMatchTheStandardWebhooksVector() {
        let signature = WebhookSignature.sign(
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(WebhookSignature.newSecret().hasPrefix("whsec_"))
        #expect(WebhookSignature.newSecret() != WebhookSignature.newSecret())
    }

    @Test func filtersMatchNamesAndPrefixes() {
        let filter = EventFilter(["Email *", "SMS Delivered"])
        #expect(filter.matches("Email Opened"))
        #expect(filter.matches("SMS Delivered"))
        #expect(!filter.matches("SMS Queued"))
        #expect(EventFilter([]).matches("anything"))
        #expect(throws: DestinationError.self) { try DestinationRules.events(["Email *ed"]) }
        #expect(throws: DestinationError.self) { try DestinationRules.url("https://user:pw@example.com/x") }
        #expect(throws: DestinationError.self) { try DestinationRules.url("/relative") }
        #expect((try? DestinationRules.url("https://example.com/hooks")) != nil)
    }

    @Test func everyOutboundEngageEventCountsAsOneMetric() {
        let sent = [
            "Email Processed", "SMS Processed", "SMS Queued", "SMS Sending", "SMS Sent",
            "WhatsApp Message Queued", "WhatsApp Message Accepted", "WhatsApp Message Sending",
            "WhatsApp Message Sent",
        ]
        for name in sent { #expect(MessageMetric.of(event: name) == .sent, "\(name)") }
        #expect(MessageMetric.of(event: "Email Machine Opened") == .machineOpened)
        #expect(MessageMetric.of(event: "Email Group Unsusbcribed") == .unsubscribed)
        #expect(MessageMetric.of(event: "WhatsApp Message Read") == .read)
        // Inbound messages are not a step of a send.
        #expect(MessageMetric.of(event: "SMS Received") == nil)
        #expect(MessageMetric.sent.countsOncePerMessage && !MessageMetric.opened.countsOncePerMessage)
    }
}
