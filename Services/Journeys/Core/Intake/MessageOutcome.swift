/// What a message event means for a journey or broadcast message, from its Engage name.
enum MessageOutcome: String, CaseIterable, Sendable {
    case sent, delivered, opened, clicked, unsubscribed, skipped, failed

    init?(eventName name: String) {
        if name == "Email Processed" || name.hasSuffix(" Queued") || name.hasSuffix(" Sent") || name.hasSuffix(" Accepted") {
            self = .sent
        } else if name.hasSuffix(" Delivered") {
            self = .delivered
        } else if name == "Email Opened" || name.hasSuffix(" Read") {
            self = .opened
        } else if name == "Email Link Clicked" {
            self = .clicked
        } else if name == "Email Unsubscribed" {
            self = .unsubscribed
        } else if name.hasSuffix(" Skipped") {
            self = .skipped
        } else if name.hasSuffix(" Failed") || name.hasSuffix(" Undelivered") || name.hasSuffix(" Bounced") || name.hasSuffix(" Dropped") {
            self = .failed
        } else {
            return nil
        }
    }

    /// The message reached the provider: a conversion window opens.
    var opensWindow: Bool { self == .sent || self == .delivered }
    /// The message will never arrive: its conversion goal is closed.
    var closesWindow: Bool { self == .skipped || self == .failed }
}
