import Contracts
import Foundation

/// One event of a SendGrid Event Webhook batch, with the fields this service uses.
struct SendGridEvent: Sendable {
    var event: String
    var eventId: String
    var email: String?
    var timestamp: Date
    var messageId: String?
    var spaceId: String?
    var sgMessageId: String?
    var url: String?
    var reason: String?
    var status: String?
    var machineOpen: Bool
    var asmGroupId: Int?

    /// Parses the batch; a precise reason for the first thing that is not a SendGrid event batch.
    static func parse(_ body: [UInt8]) throws(InvalidMessage) -> [SendGridEvent] {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw InvalidMessage("the body is not JSON: \(error)") }
        guard case .array(let items) = json else { throw InvalidMessage("the body must be a JSON array of events") }
        var events: [SendGridEvent] = []
        for (index, item) in items.enumerated() {
            guard case .object(let members) = item else { throw InvalidMessage("[\(index)] is not an object") }
            func text(_ key: String) -> String? { if case .string(let value)? = members[key] { value } else { nil } }
            guard let event = text("event") else { throw InvalidMessage("[\(index)].event is required") }
            guard case .number(let seconds)? = members["timestamp"] else {
                throw InvalidMessage("[\(index)].timestamp (unix seconds) is required")
            }
            // Up to 9999-12-31: a time every reader can write down again.
            guard (0...253_402_300_799).contains(seconds) else {
                throw InvalidMessage("[\(index)].timestamp must be unix seconds from 0 to 253402300799")
            }
            // sg_event_id is unique per event; without it, the event's own content identifies it.
            let eventId =
                text("sg_event_id") ?? "\(event):\(text("sg_message_id") ?? ""):\(Int(seconds)):\(text("email") ?? "")"
            var machineOpen = false
            if case .bool(let flag)? = members["sg_machine_open"] { machineOpen = flag }
            var group: Int?
            if case .number(let id)? = members["asm_group_id"] { group = Int(exactly: id) }
            events.append(
                SendGridEvent(
                    event: event, eventId: eventId, email: text("email"),
                    timestamp: Date(timeIntervalSince1970: seconds),
                    messageId: text(SendGridClient.messageIdArg), spaceId: text(SendGridClient.spaceIdArg),
                    sgMessageId: text("sg_message_id"), url: text("url"), reason: text("reason"),
                    status: text("status") ?? text("type"), machineOpen: machineOpen, asmGroupId: group))
        }
        return events
    }

    /// When a consent event takes effect. SendGrid stamps events to the second while subscription
    /// changes are ordered by microsecond, so the event is placed at the end of its second: a person's
    /// unsubscribe is never ordered before a change made earlier in that same second.
    var consentTime: Date {
        let seconds = timestamp.timeIntervalSince1970
        return seconds.rounded(.down) == seconds ? timestamp.addingTimeInterval(0.999_999) : timestamp
    }

    /// The subscription command a consent event means, if any: unsubscribes and spam reports
    /// unsubscribe from all email; group events change the mapped group.
    func subscriptionCommand(groups: [String: String]) -> (status: SubscriptionStatus, group: String?)? {
        switch event {
        case "unsubscribe", "spamreport": return (.unsubscribed, nil)
        case "group_unsubscribe", "group_resubscribe":
            guard let group = group(groups: groups) else { return nil }
            return (event == "group_unsubscribe" ? .unsubscribed : .subscribed, group)
        default: return nil
        }
    }

    /// The subscription group a group event is about: the space's name for SendGrid's `asm_group_id`
    /// (`asmGroups` in the SendGrid settings).
    func group(groups: [String: String]) -> String? {
        guard event == "group_unsubscribe" || event == "group_resubscribe", let id = asmGroupId else { return nil }
        return groups[String(id)]
    }
}

/// Twilio's reply keywords (whole message, any case). `OptOutType`, when Twilio sends it, wins.
enum ReplyKeyword: Sendable, Equatable {
    case optOut, optIn, help

    static let optOutWords: Set<String> = [
        "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
    ]
    static let optInWords: Set<String> = ["START", "YES", "UNSTOP"]
    static let helpWords: Set<String> = ["HELP", "INFO"]

    static func of(body: String?, optOutType: String?) -> ReplyKeyword? {
        if let optOutType {
            switch optOutType.uppercased() {
            case "STOP": return .optOut
            case "START": return .optIn
            case "HELP": return .help
            default: break
            }
        }
        let word = (body ?? "").trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters))
            .uppercased()
        if optOutWords.contains(word) { return .optOut }
        if optInWords.contains(word) { return .optIn }
        if helpWords.contains(word) { return .help }
        return nil
    }
}
