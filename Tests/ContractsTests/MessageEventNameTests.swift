import Contracts
import Testing

@Suite struct MessageEventNameTests {
    /// Every status Twilio documents, for an outbound SMS and WhatsApp message.
    static let expected: [TwilioMessageStatus: (sms: String?, whatsapp: String?)] = [
        .accepted: ("SMS Processed", "WhatsApp Message Accepted"),
        .scheduled: ("SMS Processed", "WhatsApp Message Accepted"),
        .queued: ("SMS Queued", "WhatsApp Message Queued"),
        .sending: ("SMS Sending", "WhatsApp Message Sending"),
        .sent: ("SMS Sent", "WhatsApp Message Sent"),
        .delivered: ("SMS Delivered", "WhatsApp Message Delivered"),
        .undelivered: ("SMS Undelivered", "WhatsApp Message Undelivered"),
        .failed: ("SMS Failed", "WhatsApp Message Failed"),
        .canceled: ("SMS Failed", "WhatsApp Message Failed"),
        .read: ("SMS Read", "WhatsApp Message Read"),
        .receiving: (nil, nil),
        .received: (nil, nil),
        .partiallyDelivered: (nil, nil),
    ]

    @Test(arguments: TwilioMessageStatus.allCases)
    func everyTwilioStatusOfAnOutboundMessageHasItsEngageEvent(status: TwilioMessageStatus) throws {
        let expected = try #require(Self.expected[status], "\(status) has no expectation")
        #expect(MessageEventName.twilio(.sms, status: status)?.name == expected.sms)
        #expect(MessageEventName.twilio(.whatsapp, status: status)?.name == expected.whatsapp)
        #expect(MessageEventName.twilio(.email, status: status) == nil)
    }

    @Test func aStatusWordIsOneEventIdWhicheverStatusNamesIt() {
        #expect(MessageEventName.twilio(.sms, status: .accepted)?.idSuffix == "processed")
        #expect(MessageEventName.twilio(.sms, status: .scheduled)?.idSuffix == "processed")
        #expect(MessageEventName.twilio(.sms, status: .queued)?.idSuffix == "queued")
        #expect(MessageEventName.twilio(.whatsapp, status: .canceled)?.idSuffix == "failed")
        #expect(MessageEventName.twilio(.whatsapp, status: .accepted)?.idSuffix == "accepted")
    }

    @Test func callbackStatusesAreReadInAnyCase() {
        #expect(TwilioMessageStatus(loose: "Delivered") == .delivered)
        #expect(TwilioMessageStatus(loose: "partially_delivered") == .partiallyDelivered)
        #expect(TwilioMessageStatus(loose: "processed") == .accepted)
        #expect(TwilioMessageStatus(loose: "pigeon") == nil)
    }

    @Test func inboundMessagesAndSendGridEventsHaveTheirNames() {
        #expect(MessageEventName.received(.sms) == "SMS Received")
        #expect(MessageEventName.received(.whatsapp) == "WhatsApp Message Received")
        #expect(MessageEventName.sendGrid(event: "group_unsubscribe", machineOpen: false) == "Email Group Unsusbcribed")
        #expect(MessageEventName.sendGrid(event: "group_resubscribe", machineOpen: false) == "Email Group Subscribed")
        #expect(MessageEventName.sendGrid(event: "open", machineOpen: true) == "Email Machine Opened")
        #expect(MessageEventName.sendGrid(event: "unknown", machineOpen: false) == nil)
    }

    @Test func theEmittedNamesAreEngagesButReceiving() {
        let emitted = MessageEventName.emitted
        #expect(
            emitted.isSuperset(of: [
                "SMS Processed", "SMS Read", "Email Failed", "SMS Skipped",
                "WhatsApp Message Skipped",
            ]))
        #expect(!emitted.contains("SMS Receiving") && !emitted.contains("WhatsApp Message Receiving"))
        #expect(!emitted.contains("Email Subscribed"), "the events source emits it from subscription changes")
        #expect(emitted.count == 34)
    }
}
