import Foundation

/// Subscription states and their changes as a person reads them: the four states (three set by
/// commands, and "no status" for a contact never given one), with a badge class each.
enum ConsentDisplay {
    /// The three states a change can set, as the subscriptions API spells them.
    static let settable = ["subscribed", "unsubscribed", "did_not_subscribe"]

    static func label(_ status: Any?) -> String {
        switch status as? String {
        case "subscribed": "Subscribed"
        case "unsubscribed": "Unsubscribed"
        case "did_not_subscribe": "Did not subscribe"
        default: "No status"
        }
    }

    static func badge(_ status: Any?) -> String {
        switch status as? String {
        case "subscribed": "good"
        case "unsubscribed": "bad"
        case "did_not_subscribe": "warn"
        default: ""
        }
    }

    static func channelLabel(_ channel: Any?) -> String {
        switch channel as? String {
        case "EMAIL": "Email"
        case "SMS": "SMS"
        case "WHATSAPP": "WhatsApp"
        default: channel as? String ?? ""
        }
    }

    static func sourceLabel(_ source: Any?) -> String {
        switch source as? String {
        case "api": "API or console"
        case "csv": "CSV upload"
        case "inbound_reply": "the person's reply"
        case "unsubscribe_link": "unsubscribe link"
        case "provider": "provider report"
        case let other?: other
        case nil: ""
        }
    }

    /// `{statusLabel, badge}` for a template.
    static func state(_ status: Any?) -> [String: Any] {
        ["statusLabel": label(status), "badge": badge(status)]
    }

    /// One channel of `GET /messaging-subscriptions` for a template, with its groups.
    static func channel(_ channel: [String: Any]) -> [String: Any] {
        var row = state(channel["status"])
        row["channel"] = channel["type"] as? String ?? ""
        row["channelLabel"] = channelLabel(channel["type"])
        row["changedAt"] = DisplayText.time(channel["changedAt"])
        row["source"] = sourceLabel(channel["source"])
        if (channel["optedOutByReply"] as? Bool) == true { row["optedOutByReply"] = true }
        let groups = (channel["groups"] as? [[String: Any]] ?? []).map { group -> [String: Any] in
            var item = state(group["status"])
            item["name"] = group["name"] as? String ?? ""
            item["effectiveLabel"] = label(group["effectiveStatus"])
            item["overridden"] = (group["effectiveStatus"] as? String) != (group["status"] as? String)
            item["changedAt"] = DisplayText.time(group["changedAt"])
            item["source"] = sourceLabel(group["source"])
            return item
        }
        if !groups.isEmpty { row["groups"] = groups }
        return row
    }

    /// One entry of the consent audit trail for a template.
    static func historyEntry(_ entry: [String: Any]) -> [String: Any] {
        var row: [String: Any] = [
            "at": DisplayText.time(entry["occurredAt"]), "channelLabel": channelLabel(entry["type"]),
            "from": label(entry["previousStatus"]), "to": label(entry["status"]), "badge": badge(entry["status"]),
            "source": sourceLabel(entry["source"]), "origin": entry["origin"] as? String ?? "",
        ]
        if let group = entry["group"] as? [String: Any], let name = group["name"] as? String {
            row["group"] = name
        }
        return row
    }
}
