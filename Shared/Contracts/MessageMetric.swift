/// What a message event counts as: a metric of message analytics (events-source), a broadcast
/// outcome and the opening or closing of a conversion window (journeys).
public enum MessageMetric: String, CaseIterable, Sendable, Codable {
    case sent, delivered, opened
    case machineOpened = "machine_opened"
    case clicked, bounced, dropped, deferred
    case markedAsSpam = "marked_as_spam"
    case unsubscribed, failed, undelivered, read, skipped, converted

    /// Metrics that describe the message's state: each message counts once (a second `SMS Sent`
    /// after `SMS Queued` is the same send). The others count every event in `total` and each
    /// message once in `unique`.
    public var countsOncePerMessage: Bool {
        switch self {
        case .sent, .delivered, .bounced, .dropped, .failed, .undelivered, .skipped, .converted: true
        case .opened, .machineOpened, .clicked, .deferred, .markedAsSpam, .unsubscribed, .read: false
        }
    }

    /// The metric an Engage message event name counts as; nil for inbound messages and statuses
    /// that are not a step of a send.
    public static func of(event name: String) -> MessageMetric? {
        switch name {
        case "Email Processed", "SMS Processed", "SMS Queued", "SMS Sending", "SMS Sent",
            "WhatsApp Message Queued", "WhatsApp Message Accepted", "WhatsApp Message Sending", "WhatsApp Message Sent":
            .sent
        case "Email Delivered", "SMS Delivered", "WhatsApp Message Delivered": .delivered
        case "Email Opened": .opened
        case "Email Machine Opened": .machineOpened
        case "Email Link Clicked": .clicked
        case "Email Bounced": .bounced
        case "Email Dropped": .dropped
        case "Email Deferred": .deferred
        case "Email Marked as Spam": .markedAsSpam
        case "Email Unsubscribed", "Email Group Unsusbcribed": .unsubscribed
        case "Email Failed", "SMS Failed", "WhatsApp Message Failed": .failed
        case "SMS Undelivered", "WhatsApp Message Undelivered": .undelivered
        case "SMS Read", "WhatsApp Message Read": .read
        case "Email Skipped", "SMS Skipped", "WhatsApp Message Skipped": .skipped
        default: nil
        }
    }

    /// The message reached the provider (a conversion window opens).
    public var reachedProvider: Bool { self == .sent || self == .delivered }

    /// The message will never arrive (a conversion window that has not opened never will).
    public var neverArrives: Bool {
        switch self {
        case .skipped, .failed, .bounced, .dropped, .undelivered: true
        default: false
        }
    }
}
