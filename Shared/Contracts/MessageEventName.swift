/// Twilio's message statuses: the Messages API's `status` and a status callback's `MessageStatus`
/// (Twilio's list, plus `partially_delivered` from its API schema).
public enum TwilioMessageStatus: String, CaseIterable, Sendable {
    case accepted, scheduled, queued, sending, sent, delivered, undelivered, failed, canceled, read, receiving, received
    case partiallyDelivered = "partially_delivered"

    /// Any case. `processed` is Engage's word for `accepted` and is read as that.
    public init?(loose text: String) {
        let folded = text.lowercased()
        self.init(rawValue: folded == "processed" ? "accepted" : folded)
    }
}

/// SendGrid Event Webhook event types (`event`).
public enum SendGridEventType: String, CaseIterable, Sendable {
    case processed, deferred, delivered, open, click, bounce, dropped, spamreport, unsubscribe
    case groupUnsubscribe = "group_unsubscribe"
    case groupResubscribe = "group_resubscribe"
}

/// Engage's event names (Engage Events Source tables) for provider statuses, plus the platform's
/// own `Skipped` and `Email Failed`, which have no provider counterpart. Every message event the
/// platform emits is named here, and `emitted` lists them all: the docs are checked against it.
public enum MessageEventName {
    /// `Email Delivered`, `SMS Undelivered`, `WhatsApp Message Read`: the channel prefix + a status word.
    private static func name(_ channel: SubscriptionChannel, _ word: String) -> String {
        switch channel {
        case .email: "Email \(word)"
        case .sms: "SMS \(word)"
        case .whatsapp: "WhatsApp Message \(word)"
        }
    }

    /// SendGrid accepted the send (its own `processed` event is the same event).
    public static let emailProcessed = "Email Processed"

    /// The event an outbound message's Twilio status is, and the suffix of its id (the status word,
    /// lower-cased: each message reports each word once, however many statuses or callbacks name it);
    /// nil for a status that is not a step of an outbound message (and for email, which Twilio does not send).
    public static func twilio(
        _ channel: SubscriptionChannel,
        status: TwilioMessageStatus
    ) -> (name: String, idSuffix: String)? {
        guard channel != .email else { return nil }
        return twilioWord(channel, status: status).map { (name(channel, $0), $0.lowercased()) }
    }

    private static func twilioWord(_ channel: SubscriptionChannel, status: TwilioMessageStatus) -> String? {
        switch status {
        // Twilio took the request but has not queued it: a Messaging Service's `accepted`, or a send
        // scheduled for later. Engage calls this "Processed" for SMS and "Accepted" for WhatsApp.
        case .accepted, .scheduled: channel == .whatsapp ? "Accepted" : "Processed"
        case .queued: "Queued"
        case .sending: "Sending"
        case .sent: "Sent"
        case .delivered: "Delivered"
        case .undelivered: "Undelivered"
        // A canceled (scheduled) message is never sent.
        case .failed, .canceled: "Failed"
        case .read: "Read"
        // Statuses of inbound messages: an outbound message never legitimately has them, and an
        // inbound one is reported once received (`received(_:)`).
        case .receiving, .received: nil
        // Some recipients or segments arrived, some not: neither Delivered nor Undelivered is true.
        case .partiallyDelivered: nil
        }
    }

    /// An inbound SMS or WhatsApp message.
    public static func received(_ channel: SubscriptionChannel) -> String { name(channel, "Received") }

    /// A SendGrid event type as an Engage event name (nil for one Engage does not name).
    public static func sendGrid(event: String, machineOpen: Bool) -> String? {
        SendGridEventType(rawValue: event).flatMap { sendGrid($0, machineOpen: machineOpen) }
    }

    public static func sendGrid(_ type: SendGridEventType, machineOpen: Bool) -> String? {
        switch type {
        case .processed: emailProcessed
        case .deferred: "Email Deferred"
        case .delivered: "Email Delivered"
        case .open: machineOpen ? "Email Machine Opened" : "Email Opened"
        case .click: "Email Link Clicked"
        case .bounce: "Email Bounced"
        case .dropped: "Email Dropped"
        case .spamreport: "Email Marked as Spam"
        case .unsubscribe: emailUnsubscribed(group: false)
        case .groupUnsubscribe: emailUnsubscribed(group: true)
        case .groupResubscribe: "Email Group Subscribed"
        }
    }

    /// The recipient unsubscribed from all email or from one group (SendGrid, or an unsubscribe link).
    /// Engage's table spells the group one "Unsusbcribed"; downstream tools match the documented name.
    public static func emailUnsubscribed(group: Bool) -> String {
        group ? "Email Group Unsusbcribed" : "Email Unsubscribed"
    }

    /// The platform's: a message request that was not sent (reason on the event).
    public static func skipped(_ channel: SubscriptionChannel) -> String { name(channel, "Skipped") }

    /// The provider refused the send (its error code on the event).
    public static func failed(_ channel: SubscriptionChannel) -> String { name(channel, "Failed") }

    /// Every name the functions above give: what messaging-send can emit on `engage.message-events`.
    public static var emitted: Set<String> {
        var names: Set<String> = [emailProcessed, emailUnsubscribed(group: false), emailUnsubscribed(group: true)]
        for type in SendGridEventType.allCases {
            for machineOpen in [false, true] {
                if let name = sendGrid(type, machineOpen: machineOpen) { names.insert(name) }
            }
        }
        for channel in [SubscriptionChannel.sms, .whatsapp] {
            for status in TwilioMessageStatus.allCases {
                if let event = twilio(channel, status: status) { names.insert(event.name) }
            }
            names.insert(received(channel))
        }
        for channel in SubscriptionChannel.allCases {
            names.insert(skipped(channel))
            names.insert(failed(channel))
        }
        return names
    }
}
