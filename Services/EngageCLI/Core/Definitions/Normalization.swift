import Contracts

/// A definition as a space stores it: the defaults the services fill in, and the one rewrite they
/// make (a marketing SMS gets its opt-out notice), applied to a file's definition so that what a
/// file leaves to the default is not reported as a difference, and a second apply changes nothing.
enum Normalization {
    static let smsOptOutNotice = "Reply STOP to unsubscribe."

    static func normalized(_ definition: Definition) -> Definition {
        guard case .object(var body) = definition.body else { return definition }
        switch definition.kind {
        case .template:
            let channel = body["channel"]?.stringValue?.trimmed.uppercased()
            let purpose = body["purpose"]?.stringValue?.trimmed.lowercased() ?? "marketing"
            if let channel { body["channel"] = .string(channel) }
            body["purpose"] = .string(purpose)
            if let name = body["name"]?.stringValue {
                body["name"] = .string(name.trimmingCharacters(in: [" ", "\t"]))
            }
            if case .object(var content)? = body["content"] {
                content = content.filter { $0.value != .null }
                if channel == "SMS", purpose == "marketing" { content = withOptOut(content) }
                body["content"] = .object(content)
            }
        case .audience, .computedTrait:
            if body["name"] == nil, let key = body["key"] { body["name"] = key }
            if body["description"] == nil { body["description"] = "" }
        case .subscriptionGroup:
            if let name = body["name"]?.stringValue { body["name"] = .string(name.trimmed) }
            if body["description"] == nil { body["description"] = "" }
        case .journey:
            if body["status"] == nil { body["status"] = "published" }
        case .destination:
            if let name = body["name"]?.stringValue {
                body["name"] = .string(name.trimmingCharacters(in: [" ", "\t"]))
            }
            if body["events"] == nil || body["events"] == .null { body["events"] = .array([]) }
            if body["enabled"] == nil || body["enabled"] == .null { body["enabled"] = true }
        case .messagingDestination:
            if body["enabled"] == nil { body["enabled"] = true }
            if body["sendToExistingMembers"] == nil { body["sendToExistingMembers"] = false }
            if case .array(let actions)? = body["actions"] {
                body["actions"] = .array(actions.map(normalizedAction))
            }
        case .sendPolicy:
            if body["frequencyCap"] == nil { body["frequencyCap"] = .null }
            if case .object(var quiet)? = body["quietHours"] {
                if quiet["timeZoneTrait"] == nil { quiet["timeZoneTrait"] = "timezone" }
                if quiet["defaultTimeZone"] == nil { quiet["defaultTimeZone"] = "UTC" }
                body["quietHours"] = .object(quiet)
            } else {
                body["quietHours"] = .null
            }
        case .sendGrid, .twilio:
            let untrimmed: Set<String> = ["fromName", "helpText"]
            for (key, value) in body {
                guard case .string(let text) = value, !untrimmed.contains(key) else { continue }
                body[key] = text.trimmed.isEmpty ? nil : .string(text.trimmed)
            }
            body = body.filter { $0.value != .null }
            if body["allowUnsignedEvents"] == false { body["allowUnsignedEvents"] = nil }
            var base =
                body["baseUrl"]?.stringValue
                ?? (definition.kind == .sendGrid ? "https://api.sendgrid.com" : "https://api.twilio.com")
            if base.hasSuffix("/") { base.removeLast() }
            body["baseUrl"] = .string(base)
        }
        var result = definition
        result.body = .object(body)
        return result
    }

    private static func normalizedAction(_ action: JSONValue) -> JSONValue {
        guard case .object(var members) = action else { return action }
        if members["trigger"] == nil { members["trigger"] = "audience_entered" }
        if members["purpose"] == nil { members["purpose"] = "marketing" }
        if members["enabled"] == nil { members["enabled"] = true }
        if members["name"] == nil, let type = members["type"] { members["name"] = type }
        members = members.filter { $0.value != .null }
        if members["type"] == "send_sms", members["purpose"] == "marketing" { members = withOptOut(members) }
        return .object(members)
    }

    /// The opt-out notice a marketing SMS body without "STOP" gets when it is saved.
    private static func withOptOut(_ content: [String: JSONValue]) -> [String: JSONValue] {
        guard case .string(let body)? = content["body"], !body.isEmpty, !body.uppercased().contains("STOP") else {
            return content
        }
        var result = content
        result["body"] = .string(body + (body.hasSuffix("\n") ? "" : "\n") + smsOptOutNotice)
        return result
    }

    /// What `diff` compares: the definition without instructions that are not state (a journey's
    /// `stepMapping`) and without secrets (never read back from a space).
    static func comparable(_ definition: Definition) -> JSONValue {
        guard case .object(var body) = definition.body else { return definition.body }
        body["stepMapping"] = nil
        for field in ProviderSecrets.fields(of: definition.kind) { body[field] = nil }
        return .object(body)
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
