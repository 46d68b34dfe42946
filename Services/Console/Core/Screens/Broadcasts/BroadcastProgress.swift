import Foundation

/// A broadcast record of the journeys API as its pages show it: state, how far the requests got,
/// and the outcomes messaging-send reported. "Done" is the broadcast finished requesting *and*
/// every requested message settled (sent, skipped or failed), which is what a person waits for.
struct BroadcastProgress {
    var record: [String: Any]

    /// Outcomes in the order a person reads them; others the API reports follow.
    static let outcomeOrder = [
        "sent", "delivered", "opened", "clicked", "converted", "skipped", "failed", "bounced", "dropped",
        "undelivered", "unsubscribed",
    ]

    var status: String { record["status"] as? String ?? "unknown" }
    var recipients: Int { Self.int(record["recipients"]) }
    var requested: Int { Self.int(record["requested"]) }
    var outcomes: [String: Int] { (record["outcomes"] as? [String: Any] ?? [:]).mapValues(Self.int) }

    /// Messages with a final outcome.
    var settled: Int { ["sent", "skipped", "failed"].reduce(0) { $0 + (outcomes[$1] ?? 0) } }

    var isFinished: Bool { status == "completed" || status == "cancelled" }
    var isDone: Bool { isFinished && settled >= requested }
    var canCancel: Bool { status == "scheduled" || status == "sending" }

    var stateLabel: String {
        switch status {
        case "scheduled": "Scheduled"
        case "sending": "Sending"
        case "completed": isDone ? "Done" : "Requested, waiting for outcomes"
        case "cancelled": isDone ? "Cancelled" : "Cancelled, waiting for outcomes"
        default: status
        }
    }

    var badge: String {
        switch status {
        case "completed": isDone ? "good" : "warn"
        case "cancelled": "bad"
        default: "warn"
        }
    }

    static func int(_ value: Any?) -> Int {
        switch value {
        case let number as Int: number
        case let number as Int64: Int(number)
        case let number as Double: Int(number)
        case let number as NSNumber: number.intValue
        default: 0
        }
    }

    /// For the detail page and its polling script (the same keys in both).
    var values: [String: Any] {
        let counts = outcomes
        let names = Self.outcomeOrder + counts.keys.filter { !Self.outcomeOrder.contains($0) }.sorted()
        return [
            "status": status, "stateLabel": stateLabel, "badge": badge, "isDone": isDone,
            "canCancel": canCancel, "recipients": recipients, "requested": requested, "settled": settled,
            "progressMax": max(recipients, 1), "progressValue": min(settled, max(recipients, 1)),
            "progressText": "\(settled) of \(recipients) settled, \(requested) requested",
            "outcomes": names.map { ["name": $0, "count": counts[$0] ?? 0] as [String: Any] },
            "startedAt": DisplayText.minute(record["startedAt"] as? String),
            "finishedAt": DisplayText.minute(record["finishedAt"] as? String),
        ]
    }
}
