import Contracts
import Foundation
import Persistence
import Testing
@testable import EventsSourceCore

@Suite struct SourceEventMapperTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    func change(group: SubscriptionChange.GroupRef? = nil, previous: SubscriptionStatus? = nil) -> SubscriptionChange {
        SubscriptionChange(spaceId: "sp1", channel: .email, contact: "ada@example.com", group: group, previousStatus: previous,
                           status: .unsubscribed, source: .unsubscribeLink, origin: "msg-1", commandId: "cmd-1",
                           occurredAt: now, recordedAt: now)
    }

    @Test func subscriptionChangesAreChannelOrGroupEventsWithTheirVersion() throws {
        let profile = ProfileSnapshot(profileId: "pr1", userId: "u1", anonymousId: "anon1", email: "old@example.com")
        let channel = SourceEventMapper.map(.subscription(change(previous: .subscribed)), profile: profile, consentVersion: 3, now: now)
        #expect(channel.event == "Channel Subscription Updated")
        #expect(channel.key == "pr1")
        #expect(channel.userId == "u1")
        // The address the change is about, not the profile's other one.
        #expect(channel.email == "ada@example.com")
        #expect(channel.properties["subscription_status"] == "unsubscribed")
        #expect(channel.properties["previous_subscription_status"] == "subscribed")
        #expect(channel.properties["version"] == .number(3))
        #expect(channel.properties["source"] == "unsubscribe_link")

        let group = SourceEventMapper.map(.subscription(change(group: .init(id: "g1", name: "Weekly"))), profile: nil, consentVersion: 1, now: now)
        #expect(group.event == "Group Subscription Updated")
        #expect(group.properties["group_name"] == "Weekly")
        #expect(group.properties["previous_subscription_status"] == .null)
        // Without a known profile the contact keys the event and stands in as anonymousId.
        #expect(group.key == "ada@example.com")
        let json = try #require(JSONParser.parse(Array(group.json.utf8)).objectValue)
        #expect(json["anonymousId"] == "ada@example.com")
        #expect(json["type"] == "track")
    }

    @Test func messageIdsAreDeterministicPerSpaceOriginAndInput() {
        let id = SourceEvent.messageId(spaceId: "sp1", origin: "message", inputId: "m1:processed")
        #expect(id == SourceEvent.messageId(spaceId: "sp1", origin: "message", inputId: "m1:processed"))
        #expect(id != SourceEvent.messageId(spaceId: "sp2", origin: "message", inputId: "m1:processed"))
        #expect(id != SourceEvent.messageId(spaceId: "sp1", origin: "journey", inputId: "m1:processed"))
        #expect(id.hasPrefix("engage-") && id.count == 39)
    }

    @Test func messageEventsCarryWhatAToolNeedsToAttributeThem() throws {
        var event = MessageEvent(id: "m1:click", spaceId: "sp1", event: "Email Link Clicked", channel: .email, messageId: "m1",
                                 profileId: "pr1", contact: "ada@example.com", occurredAt: now, recordedAt: now)
        event.templateId = "t1"
        event.templateVersion = 2
        event.journeyId = "j1"
        event.journeyStepId = "s1"
        event.url = "https://shop.example/a"
        let mapped = SourceEventMapper.map(.message(event), profile: nil, consentVersion: nil, now: now)
        #expect(mapped.properties["link_url"] == "https://shop.example/a")
        #expect(mapped.properties["template_version"] == .number(2))
        #expect(mapped.properties["journey_step_id"] == "s1")
        #expect(mapped.properties["channel"] == "email")
        let json = try #require(JSONParser.parse(Array(mapped.json.utf8)).objectValue)
        let externalIds = try #require(json["context"]?["externalIds"]?.arrayValue)
        #expect(externalIds.contains(["id": "ada@example.com", "type": "email", "collection": "users", "encoding": "none"]))
        #expect(json["anonymousId"] == "pr1")
    }

    @Test func audienceEventsCarryTheKeyAsABoolean() {
        let entered = AudienceMembershipEvent(spaceId: "sp1", entered: true, audienceId: "a1", audienceKey: "vip", audienceName: "VIP",
                                              audienceVersion: 1, profileId: "pr1", userId: "u1", email: nil, phone: nil, anonymousIds: [],
                                              traits: ["plan": "pro"], reason: .realtime, occurredAt: now, sequence: 7)
        let mapped = SourceEventMapper.map(.membership(entered), profile: nil, consentVersion: nil, now: now)
        #expect(mapped.event == "Audience Entered")
        #expect(mapped.properties["vip"] == true)
        #expect(mapped.userId == "u1")
        #expect(mapped.traits["plan"] == "pro")
    }
}

@Suite struct WebhookPiecesTests {
    /// The Standard Webhooks reference vector: receivers' libraries verify what this signs.
    @Test func signaturesMatchTheStandardWebhooksVector() {
        let signature = WebhookSignature.sign(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
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
        let sent = ["Email Processed", "SMS Processed", "SMS Queued", "SMS Sending", "SMS Sent",
                    "WhatsApp Message Queued", "WhatsApp Message Accepted", "WhatsApp Message Sending",
                    "WhatsApp Message Sent"]
        for name in sent { #expect(MessageMetric.of(event: name) == .sent, "\(name)") }
        #expect(MessageMetric.of(event: "Email Machine Opened") == .machineOpened)
        #expect(MessageMetric.of(event: "Email Group Unsusbcribed") == .unsubscribed)
        #expect(MessageMetric.of(event: "WhatsApp Message Read") == .read)
        // Inbound messages are not a step of a send.
        #expect(MessageMetric.of(event: "SMS Received") == nil)
        #expect(MessageMetric.sent.countsOncePerMessage && !MessageMetric.opened.countsOncePerMessage)
    }
}
