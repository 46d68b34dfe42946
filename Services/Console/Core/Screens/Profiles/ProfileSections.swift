import EngageClient
import Foundation

/// The parts of a profile's page, from the APIs' answers to template values.
enum ProfileSections {
    /// Traits by key; those a computed trait writes back are marked.
    static func traits(_ traits: [String: Any], computedKeys: Set<String>) -> [[String: Any]] {
        traits.keys.sorted().map { key in
            ["key": key, "value": DisplayText.value(traits[key]), "computed": computedKeys.contains(key)]
        }
    }

    /// A heading for the person: a name, else an email, else the user id.
    static func title(_ traits: [String: Any], identities: [[String: Any]]) -> String? {
        if let name = traits["name"] as? String, !name.isEmpty { return name }
        let first = traits["first_name"] as? String ?? traits["firstName"] as? String
        let last = traits["last_name"] as? String ?? traits["lastName"] as? String
        let full = [first, last].compactMap { $0 }.joined(separator: " ")
        if !full.isEmpty { return full }
        for type in ["email", "user_id"] {
            if let id = identities.first(where: { $0["type"] as? String == type })?["id"] as? String { return id }
        }
        return nil
    }

    static let identityOrder = ["user_id", "email", "phone", "anonymous_id"]

    /// External ids, the most telling types first, oldest first within a type.
    static func identities(_ rows: [[String: Any]]) -> [[String: Any]] {
        func rank(_ type: String) -> Int { identityOrder.firstIndex(of: type) ?? identityOrder.count }
        return
            rows.sorted {
                let (a, b) = ($0["type"] as? String ?? "", $1["type"] as? String ?? "")
                return rank(a) != rank(b)
                    ? rank(a) < rank(b)
                    : a != b ? a < b : ($0["created_at"] as? String ?? "") < ($1["created_at"] as? String ?? "")
            }
            .map { row in
                [
                    "type": row["type"] as? String ?? "", "id": row["id"] as? String ?? "",
                    "createdAt": DisplayText.time(row["created_at"]), "sourceId": row["source_id"] as? String ?? "",
                ]
            }
    }

    /// One event of the timeline: when, what, and its payload folded away.
    static func event(_ event: [String: Any]) -> [String: Any] {
        let type = event["type"] as? String ?? ""
        let name = event["event"] as? String ?? event["name"] as? String
        var payload: [String: Any] = [:]
        for key in ["properties", "traits", "context"] {
            if let value = event[key] as? [String: Any], !value.isEmpty { payload[key] = value }
        }
        let summarySource = (event["properties"] as? [String: Any]) ?? (event["traits"] as? [String: Any]) ?? [:]
        var summary = summarySource.isEmpty ? "" : DisplayText.json(summarySource)
        if summary.count > 140 { summary = String(summary.prefix(139)) + "…" }
        var row: [String: Any] = [
            "at": DisplayText.time(event["timestamp"]), "type": type, "summary": summary,
            "messageId": event["message_id"] as? String ?? "",
        ]
        if let name { row["name"] = name }
        if !payload.isEmpty { row["payload"] = DisplayText.prettyJSON(payload) }
        return row
    }

    static func membership(_ membership: [String: Any]) -> [String: Any] {
        let key = membership["audienceKey"] as? String ?? ""
        return [
            "name": membership["audienceName"] as? String ?? key, "key": key,
            "href": "/audiences/" + EngageAPI.segment(key), "enteredAt": DisplayText.time(membership["enteredAt"]),
        ]
    }

    /// A message and its outcome.
    static func message(_ message: [String: Any]) -> [String: Any] {
        let state = message["state"] as? String ?? ""
        let badge =
            switch state {
            case "sent": "good"
            case "failed": "bad"
            case "skipped", "unknown": "warn"
            default: ""
            }
        let outcome = [message["reason"], message["errorMessage"]].compactMap { $0 as? String }
            .joined(separator: ": ")
        var origin = ""
        if let journey = message["journeyId"] as? String {
            origin = "journey \(journey)"
        } else if let broadcast = message["broadcastId"] as? String {
            origin = "broadcast \(broadcast)"
        } else if let destination = message["destinationId"] as? String {
            origin = "destination \(destination)"
        }
        var row: [String: Any] = [
            "at": DisplayText.time(message["requestedAt"]), "channel": ConsentDisplay.channelLabel(message["channel"]),
            "state": state, "badge": badge, "outcome": outcome,
            "delivery": message["deliveryStatus"] as? String ?? "", "recipient": message["recipient"] as? String ?? "",
            "purpose": message["purpose"] as? String ?? "", "origin": origin, "id": message["id"] as? String ?? "",
            "test": (message["test"] as? Bool) == true,
        ]
        if let template = message["templateId"] as? String {
            row["template"] = template
            row["templateHref"] = "/templates/" + EngageAPI.segment(template)
        }
        return row
    }

    /// The email addresses and phone numbers whose consent belongs on the page: the profile's
    /// identifiers, else its `email`/`phone` traits (what sends and audiences read).
    static func contacts(identities: [[String: Any]], traits: [String: Any]) -> [String] {
        var contacts: [String] = []
        for row in identities where ["email", "phone"].contains(row["type"] as? String ?? "") {
            if let id = row["id"] as? String, !contacts.contains(id) { contacts.append(id) }
        }
        for key in ["email", "phone"] {
            if let value = traits[key] as? String, !value.isEmpty,
                !contacts.contains(where: { $0.lowercased() == value.lowercased() })
            {
                contacts.append(value)
            }
        }
        return Array(contacts.prefix(6))
    }
}
