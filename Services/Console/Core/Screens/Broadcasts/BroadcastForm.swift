import Foundation

/// The new-broadcast form as typed: what it asks the journeys API for, its own checks (a time that
/// reads as a time), and the page's values with the choices it offers.
struct BroadcastForm {
    var name = ""
    var channel = TemplateChannel.email
    var audienceId = ""
    var templateId = ""
    var purpose = "marketing"
    var group = ""
    /// "now" or "later".
    var when = "now"
    /// `datetime-local` text, read in `timeZone`.
    var scheduledAt = ""
    var timeZone = "UTC"
    var throttle = ""

    init() {}

    init(_ form: FormFields) {
        name = form["name"] ?? ""
        channel = TemplateChannel(loose: form["channel"]) ?? .email
        audienceId = form["audienceId"] ?? ""
        templateId = form["templateId"] ?? ""
        purpose = form["purpose"] == "transactional" ? "transactional" : "marketing"
        group = form["group"] ?? ""
        when = form["when"] == "later" ? "later" : "now"
        scheduledAt = form["scheduledAt"] ?? ""
        timeZone = form["timezone"].flatMap { TimeZone(identifier: $0) == nil ? nil : $0 } ?? "UTC"
        throttle = form["throttlePerMinute"] ?? ""
    }

    /// The journeys API's body, or problems by field.
    func body() -> (body: [String: Any], problems: [String: String]) {
        var problems: [String: String] = [:]
        var body: [String: Any] = [
            "name": name, "channel": channel.rawValue, "audienceId": audienceId, "templateId": templateId,
            "purpose": purpose,
        ]
        if name.isEmpty { problems["name"] = "Give the broadcast a name." }
        if audienceId.isEmpty { problems["audienceId"] = "Choose the audience to send to." }
        if templateId.isEmpty { problems["templateId"] = "Choose a \(channel.label) template." }
        if !group.isEmpty {
            if channel == .email { body["group"] = group } else { problems["group"] = "Groups exist on email only." }
        }
        if !throttle.isEmpty {
            if let perMinute = Int(throttle), perMinute >= 1 {
                body["throttlePerMinute"] = perMinute
            } else {
                problems["throttlePerMinute"] = "A whole number of messages a minute, 1 or more (or leave it empty)."
            }
        }
        if when == "later" {
            if let date = Self.localTime(scheduledAt, in: timeZone) {
                body["scheduledAt"] = DisplayText.iso(date)
            } else {
                problems["scheduledAt"] = "Give the date and time to send at."
            }
        }
        return (body, problems)
    }

    /// `2026-03-01T09:30` (as `datetime-local` sends it) in a time zone.
    static func localTime(_ text: String, in zone: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: zone) ?? TimeZone(identifier: "UTC")
        for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// The API names fields in its problems (`templateId: ...`); each goes beside its field.
    static func field(ofProblem text: String) -> String? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let name = String(text[..<colon])
        return ["name", "audienceId", "templateId", "templateVersion", "throttlePerMinute", "group", "scheduledAt"]
            .contains(name) ? (name == "templateVersion" ? "templateId" : name) : nil
    }

    /// The page's values: what was typed, and the audiences, templates and groups to choose from.
    func values(
        audiences: [[String: Any]], templates: [[String: Any]], groups: [[String: Any]], errors: [String: String]
    ) -> [String: Any] {
        var values: [String: Any] = [
            "name": name, "scheduledAt": scheduledAt, "timezone": timeZone, "throttle": throttle,
            "isLater": when == "later", "isTransactional": purpose == "transactional",
            "channels": TemplateChannel.allCases.map {
                ["value": $0.rawValue, "label": $0.label, "selected": $0 == channel] as [String: Any]
            },
            "audiences": audiences.map { audience -> [String: Any] in
                let id = audience["id"] as? String ?? ""
                let name = audience["name"] as? String ?? id
                let key = audience["key"] as? String ?? ""
                return [
                    "id": id, "label": key.isEmpty || key == name ? name : "\(name) (\(key))",
                    "selected": id == audienceId || (!key.isEmpty && key == audienceId),
                ]
            },
            "templateGroups": TemplateChannel.allCases.map { option -> [String: Any] in
                let own = templates.filter { TemplateChannel(loose: $0["channel"] as? String) == option }
                return [
                    "label": option.label, "channel": option.rawValue,
                    "templates": own.map { template -> [String: Any] in
                        let id = template["id"] as? String ?? ""
                        return [
                            "id": id, "name": template["name"] as? String ?? id, "channel": option.rawValue,
                            "purpose": template["purpose"] as? String ?? "", "selected": id == templateId,
                        ]
                    },
                    "hasTemplates": !own.isEmpty,
                ]
            },
            "groups": groups.map { group -> [String: Any] in
                let name = group["name"] as? String ?? ""
                return ["name": name, "selected": name == self.group]
            },
            "hasAudiences": !audiences.isEmpty, "hasTemplates": !templates.isEmpty, "hasGroups": !groups.isEmpty,
        ]
        for (field, text) in errors { values["\(field)Error"] = text }
        return values
    }
}
