import Contracts
import Foundation

/// A destination as an API caller writes it, checked field by field: every problem is reported at
/// once with its path (`actions[1].mediaUrls[0]`), and an unknown field is refused by name.
struct DestinationDraft: Sendable {
    var name: String
    /// An audience id or key, resolved against the audience catalogue by the caller.
    var audience: String
    var enabled: Bool
    var sendToExistingMembers: Bool
    var actions: [DestinationAction]

    static let fields: Set<String> = ["name", "audienceId", "enabled", "sendToExistingMembers", "actions"]
    static let actionFields: Set<String> = [
        "id", "name", "type", "trigger", "enabled", "from", "templateId", "templateVersion",
        "purpose", "group",
    ]
    static let maxActions = 10

    /// `existing`: the actions stored now, so that an action sent back with its id keeps it.
    static func parse(_ json: JSONValue, existing: [DestinationAction] = [], newId: () -> String)
        throws(TemplateProblems)
        -> DestinationDraft
    {
        var problems: [TemplateProblem] = []
        func problem(_ field: String, _ reason: String) {
            problems.append(TemplateProblem(field: field, line: nil, column: nil, reason: reason))
        }
        guard case .object(let body) = json else {
            throw TemplateProblems(problems: [
                TemplateProblem(
                    field: "body", line: nil, column: nil,
                    reason: "the body must be a JSON object")
            ])
        }
        for key in body.keys.sorted() where !fields.contains(key) { problem(key, "unknown field \(key)") }
        func text(_ object: [String: JSONValue], _ key: String, _ path: String, required: Bool = false) -> String? {
            switch object[key] {
            case .string(let value)? where !value.trimmingCharacters(in: .whitespaces).isEmpty:
                if value.utf8.count > 500 { problem(path, "at most 500 bytes") }
                return value
            case nil, .null?:
                if required { problem(path, "\(key) is required") }
                return nil
            default:
                problem(path, "\(key) must be a non-empty string")
                return nil
            }
        }
        func flag(_ object: [String: JSONValue], _ key: String, _ path: String, default value: Bool) -> Bool {
            switch object[key] {
            case .bool(let flag)?: return flag
            case nil, .null?: return value
            default:
                problem(path, "\(key) must be true or false")
                return value
            }
        }
        let name = text(body, "name", "name", required: true) ?? ""
        let audience = text(body, "audienceId", "audienceId", required: true) ?? ""
        let enabled = flag(body, "enabled", "enabled", default: true)
        let existingMembers = flag(body, "sendToExistingMembers", "sendToExistingMembers", default: false)
        var actions: [DestinationAction] = []
        switch body["actions"] {
        case .array(let items)? where !items.isEmpty && items.count <= maxActions:
            for (index, item) in items.enumerated() {
                let path = "actions[\(index)]"
                guard case .object(let object) = item else {
                    problem(path, "an action must be an object")
                    continue
                }
                let contentKeys = Set(TemplateContent.CodingKeys.allCases.map(\.rawValue)).subtracting(["from"])
                for key in object.keys.sorted() where !actionFields.contains(key) && !contentKeys.contains(key) {
                    problem("\(path).\(key)", "unknown field \(key)")
                }
                var id = text(object, "id", "\(path).id")
                if let given = id, actions.contains(where: { $0.id == given }) {
                    problem("\(path).id", "action \(given) is listed twice")
                    id = nil
                } else if let given = id, !existing.contains(where: { $0.id == given }) {
                    problem("\(path).id", "no action \(given) in this destination (leave id out for a new action)")
                    id = nil
                }
                guard let typeText = text(object, "type", "\(path).type", required: true) else { continue }
                guard let kind = DestinationAction.Kind(rawValue: typeText) else {
                    problem(
                        "\(path).type",
                        "type must be one of \(DestinationAction.Kind.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                    continue
                }
                var trigger = DestinationAction.Trigger.audienceEntered
                if let triggerText = text(object, "trigger", "\(path).trigger") {
                    if let parsed = DestinationAction.Trigger(rawValue: triggerText) {
                        trigger = parsed
                    } else {
                        problem("\(path).trigger", "trigger must be audience_entered or audience_exited")
                    }
                }
                var purpose = MessagePurpose.marketing
                if let purposeText = text(object, "purpose", "\(path).purpose") {
                    if let parsed = MessagePurpose(rawValue: purposeText) {
                        purpose = parsed
                    } else {
                        problem("\(path).purpose", "purpose must be marketing or transactional")
                    }
                }
                let channel = kind.channel
                let from = text(object, "from", "\(path).from")
                if let from {
                    do throws(InvalidMessage) { try ProviderRules.checkSender(from, channel: channel) } catch {
                        problem("\(path).from", error.reason)
                    }
                }
                let group = text(object, "group", "\(path).group")
                if group != nil && channel != .email {
                    problem("\(path).group", "group applies to send_email actions only")
                }
                let templateId = text(object, "templateId", "\(path).templateId")
                var templateVersion: Int?
                switch object["templateVersion"] {
                case nil, .null?: break
                case let value?:
                    if let number = value.numberValue, number >= 1, number <= 1_000_000, number == number.rounded() {
                        templateVersion = Int(number)
                    } else {
                        problem("\(path).templateVersion", "templateVersion must be an integer of 1 or more")
                    }
                }
                let contentMembers = object.filter { contentKeys.contains($0.key) }
                var content: TemplateContent?
                if templateId != nil {
                    for key in contentMembers.keys.sorted() {
                        problem(
                            "\(path).\(key)",
                            "\(key) is part of the template: give a templateId or the action's own content, not both")
                    }
                } else if contentMembers.isEmpty {
                    problem(
                        path,
                        "an action needs a templateId or its own content (body, mediaUrls, contentSid; for email subject and html)"
                    )
                } else {
                    do throws(TemplateProblems) {
                        content = try TemplateContent.strict(.object(contentMembers), field: path).validated(
                            channel: channel, purpose: purpose)
                    } catch {
                        problems += error.problems.map {
                            TemplateProblem(
                                field: $0.field.hasPrefix(path) ? $0.field : "\(path).\($0.field)",
                                line: $0.line, column: $0.column, reason: $0.reason)
                        }
                    }
                }
                actions.append(
                    DestinationAction(
                        id: id ?? newId(), name: text(object, "name", "\(path).name") ?? kind.rawValue,
                        type: kind, trigger: trigger,
                        enabled: flag(object, "enabled", "\(path).enabled", default: true),
                        from: from, templateId: templateId, templateVersion: templateVersion, content: content,
                        purpose: purpose, group: group))
            }
        default:
            problem("actions", "actions must be a list of 1 to \(maxActions) actions")
        }
        guard problems.isEmpty else { throw TemplateProblems(problems: problems) }
        return DestinationDraft(
            name: name, audience: audience, enabled: enabled, sendToExistingMembers: existingMembers, actions: actions)
    }
}
