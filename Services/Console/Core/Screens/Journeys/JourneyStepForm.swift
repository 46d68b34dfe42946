import Contracts
import Foundation

/// The form of one step, per kind: a step of the definition as form fields (to edit it), the
/// step a submitted form describes, and the form's values for `journeys-show`. The form is always
/// drawn from fields (a step's, or what was typed), so a refused form comes back as typed.
struct JourneyStepForm: Sendable {
    /// A template the send form can pick (messaging-send's list).
    struct TemplateOption: Sendable {
        var id: String
        var name: String
        var channel: String
        var purpose: String
    }

    var kind: String
    var fields: FormFields
    var draft: JourneyDraft
    /// The step being edited (nil: a new one).
    var editing: String?
    var templates: [TemplateOption] = []
    /// The entry audiences a condition can name (id, name); empty: typed as an id.
    var audiences: [(id: String, name: String)] = []
    /// Where the place a new step goes led before (what "continue as before" means).
    var afterTarget: String?
    var errors: [String: String] = [:]

    static let afterPrevious = "@after"
    static let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    // MARK: step -> fields

    /// The fields that show a step of the definition.
    static func fields(from step: [String: JSONValue]) -> FormFields {
        var pairs: [(String, String)] = [
            ("id", step["id"]?.stringValue ?? ""), ("name", step["name"]?.stringValue ?? ""),
        ]
        func next(_ key: String, _ field: String) { pairs.append((field, step[key]?.stringValue ?? "")) }
        func duration(_ seconds: Double?, _ amount: String, _ unit: String) {
            guard let seconds else { return }
            let split = JourneyText.split(seconds)
            pairs += [(amount, JourneyText.number(split.amount)), (unit, split.unit)]
        }
        let branches = (step["branches"]?.arrayValue ?? []).map { $0.objectValue ?? [:] }
        switch JourneyText.kind(of: step) {
        case "wait":
            duration(step["seconds"]?.numberValue, "amount", "unit")
            next("next", "next")
        case "wait_until_time":
            pairs += [
                ("time", step["time"]?.stringValue ?? ""),
                ("timeZoneTrait", step["timeZoneTrait"]?.stringValue ?? ""),
                ("defaultTimeZone", step["defaultTimeZone"]?.stringValue ?? ""),
            ]
            for day in step["weekdays"]?.arrayValue ?? [] {
                if let text = day.stringValue { pairs.append(("weekdays", String(text.lowercased().prefix(3)))) }
            }
            next("next", "next")
        case "wait_until_trait":
            pairs.append(("trait", step["trait"]?.stringValue ?? ""))
            if let offset = step["offsetSeconds"]?.numberValue, offset != 0 {
                duration(abs(offset), "offsetAmount", "offsetUnit")
                pairs.append(("offsetDirection", offset < 0 ? "before" : "after"))
            }
            next("next", "next")
        case "wait_for_event":
            for (index, branch) in branches.enumerated() {
                pairs += [
                    ("branch.\(index).name", branch["name"]?.stringValue ?? ""),
                    ("branch.\(index).event", branch["event"]?.stringValue ?? ""),
                    ("branch.\(index).next", branch["next"]?.stringValue ?? ""),
                ]
            }
            pairs.append(("rows", "\(branches.count + 1)"))
            duration(step["timeoutSeconds"]?.numberValue, "timeoutAmount", "timeoutUnit")
            next("timeoutNext", "timeoutNext")
        case "split":
            pairs += conditionFields(step["condition"], prefix: "cond.")
            next("trueNext", "trueNext")
            next("falseNext", "falseNext")
        case "multi_split":
            pairs.append(("mode", step["mode"]?.stringValue ?? "first"))
            for (index, branch) in branches.enumerated() {
                pairs += [
                    ("branch.\(index).name", branch["name"]?.stringValue ?? ""),
                    ("branch.\(index).next", branch["next"]?.stringValue ?? ""),
                ]
                pairs += conditionFields(branch["condition"], prefix: "branch.\(index).cond.")
            }
            pairs.append(("rows", "\(branches.count + 1)"))
            next("otherwiseNext", "otherwiseNext")
        case "random_split":
            for (index, branch) in branches.enumerated() {
                pairs += [
                    ("branch.\(index).name", branch["name"]?.stringValue ?? ""),
                    ("branch.\(index).percent", branch["percent"]?.numberValue.map(JourneyText.number) ?? ""),
                    ("branch.\(index).next", branch["next"]?.stringValue ?? ""),
                ]
                if branch["holdout"] == .bool(true) { pairs.append(("branch.\(index).holdout", "on")) }
            }
            pairs.append(("rows", "\(min(5, max(2, branches.count + 1)))"))
        case "send":
            pairs += [
                ("templateId", step["templateId"]?.stringValue ?? ""),
                ("templateVersion", step["templateVersion"]?.numberValue.map(JourneyText.number) ?? ""),
                ("purpose", step["purpose"]?.stringValue ?? "marketing"),
                ("group", step["group"]?.stringValue ?? ""),
                ("goalEvent", step["goal"]?["event"]?.stringValue ?? ""),
            ]
            duration(step["goal"]?["windowSeconds"]?.numberValue, "goalAmount", "goalUnit")
            next("next", "next")
        case "destination":
            pairs.append(("topic", step["topic"]?.stringValue ?? ""))
            next("next", "next")
        case "set_traits":
            let lines = (step["traits"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { key, value in
                "\(key) = \(traitText(value))"
            }
            pairs.append(("traits", lines.joined(separator: "\n")))
            next("next", "next")
        default:
            break
        }
        return FormFields(pairs)
    }

    private static func conditionFields(_ json: JSONValue?, prefix: String) -> [(String, String)] {
        guard let condition = json?.objectValue else { return [(prefix + "type", "trait")] }
        let type = condition["type"]?.stringValue ?? ""
        switch type {
        case "trait":
            return [
                (prefix + "type", "trait"), (prefix + "trait", condition["trait"]?.stringValue ?? ""),
                (prefix + "operator", condition["operator"]?.stringValue ?? "equals"),
                (prefix + "value", condition["value"].map(JourneyText.display) ?? ""),
            ]
        case "audience":
            return [(prefix + "type", "audience"), (prefix + "audienceId", condition["audienceId"]?.stringValue ?? "")]
        case "performed" where condition["where"] == nil:
            return [(prefix + "type", "performed"), (prefix + "event", condition["event"]?.stringValue ?? "")]
        default:
            // and / or / not, or filters on the event: the JSON definition edits those.
            return [(prefix + "type", "keep")]
        }
    }

    /// A trait value as typed back: text bare, anything else (or text that reads as something
    /// else) as JSON.
    static func traitText(_ value: JSONValue) -> String {
        if case .string(let text) = value, literal(text) == .string(text) { return text }
        return value.json
    }

    /// What a typed value means: JSON when it reads as JSON, else the text itself.
    static func literal(_ text: String) -> JSONValue {
        if let parsed = try? JSONParser.parse(Array(text.utf8)) { return parsed }
        return .string(text)
    }

    // MARK: fields -> step

    /// The step the form describes, starting from the step it edits (so what the form does not
    /// show, such as event filters, is kept), with an error per field that cannot be read.
    mutating func step(existing: [String: JSONValue]?) -> [String: JSONValue] {
        var step = existing ?? [:]
        let id = editing ?? fields["id"] ?? draft.uniqueId(fields["name"] ?? Self.defaultIdBase(kind))
        step["id"] = .string(id)
        if let name = fields["name"] { step["name"] = .string(name) } else { step.removeValue(forKey: "name") }
        let existingBranches = (existing?["branches"]?.arrayValue ?? []).map { $0.objectValue ?? [:] }
        switch kind {
        case "wait":
            step["type"] = "wait"
            step["seconds"] = duration("amount", "unit", label: "the wait")
            step["next"] = next("next")
        case "wait_until_time":
            step["type"] = "wait_until"
            for key in ["trait", "offsetSeconds"] { step.removeValue(forKey: key) }
            step["time"] = fields["time"].map(JSONValue.string) ?? .null
            let days = fields.all("weekdays").filter { Self.weekdays.contains($0) }
            step["weekdays"] = days.isEmpty ? JSONValue?.none : .array(days.map(JSONValue.string))
            step["timeZoneTrait"] = fields["timeZoneTrait"].map(JSONValue.string)
            step["defaultTimeZone"] = fields["defaultTimeZone"].map(JSONValue.string)
            step["next"] = next("next")
        case "wait_until_trait":
            step["type"] = "wait_until"
            for key in ["time", "weekdays", "timeZoneTrait", "defaultTimeZone"] { step.removeValue(forKey: key) }
            step["trait"] = fields["trait"].map(JSONValue.string) ?? .null
            if case .number(let offset) = duration("offsetAmount", "offsetUnit", label: "the offset"), offset != 0 {
                step["offsetSeconds"] = .number(fields["offsetDirection"] == "before" ? -offset : offset)
            } else {
                step.removeValue(forKey: "offsetSeconds")
            }
            step["next"] = next("next")
        case "wait_for_event":
            step["type"] = "wait_for_event"
            var branches: [JSONValue] = []
            for row in rows() {
                let prefix = "branch.\(row)."
                guard let event = fields[prefix + "event"] else { continue }
                var branch = existingBranches.indices.contains(row) ? existingBranches[row] : [:]
                branch["name"] = .string(fields[prefix + "name"] ?? Self.branchName(event, taken: branches))
                if branch["event"]?.stringValue != event { branch.removeValue(forKey: "where") }
                branch["event"] = .string(event)
                branch["next"] = next(prefix + "next")
                branches.append(.object(branch))
            }
            step["branches"] = .array(branches)
            step["timeoutSeconds"] = duration("timeoutAmount", "timeoutUnit", label: "the timeout")
            step["timeoutNext"] = next("timeoutNext")
        case "split":
            step["type"] = "split"
            step["condition"] = condition(prefix: "cond.", existing: existing?["condition"])
            step["trueNext"] = next("trueNext")
            step["falseNext"] = next("falseNext")
        case "multi_split":
            step["type"] = "multi_split"
            step["mode"] = .string(fields["mode"] == "all" ? "all" : "first")
            var branches: [JSONValue] = []
            for row in rows() {
                let prefix = "branch.\(row)."
                let old = existingBranches.indices.contains(row) ? existingBranches[row] : [:]
                guard let name = fields[prefix + "name"] else { continue }
                var branch = old
                branch["name"] = .string(name)
                branch["condition"] = condition(prefix: prefix + "cond.", existing: old["condition"])
                branch["next"] = next(prefix + "next")
                branches.append(.object(branch))
            }
            step["branches"] = .array(branches)
            step["otherwiseNext"] = next("otherwiseNext")
        case "random_split":
            step["type"] = "random_split"
            var branches: [JSONValue] = []
            for row in rows() {
                let prefix = "branch.\(row)."
                guard let name = fields[prefix + "name"] else { continue }
                var branch = existingBranches.indices.contains(row) ? existingBranches[row] : [:]
                branch["name"] = .string(name)
                branch["percent"] = number(prefix + "percent", label: "the share of \(name)")
                if fields.isChecked(prefix + "holdout") {
                    branch["holdout"] = true
                    branch.removeValue(forKey: "next")
                } else {
                    branch.removeValue(forKey: "holdout")
                    branch["next"] = next(prefix + "next")
                }
                branches.append(.object(branch))
            }
            step["branches"] = .array(branches)
        case "send":
            step["type"] = "send"
            let templateId = fields["templateId"]
            step["templateId"] = templateId.map(JSONValue.string) ?? .null
            if let template = templates.first(where: { $0.id == templateId }) {
                step["channel"] = .string(template.channel)
            }
            step["templateVersion"] =
                fields["templateVersion"] == nil ? JSONValue?.none : number("templateVersion", label: "the version")
            step["purpose"] = .string(fields["purpose"] == "transactional" ? "transactional" : "marketing")
            step["group"] = fields["group"].map(JSONValue.string)
            if let event = fields["goalEvent"] {
                var goal = existing?["goal"]?.objectValue ?? [:]
                if goal["event"]?.stringValue != event { goal.removeValue(forKey: "where") }
                goal["event"] = .string(event)
                goal["windowSeconds"] = duration("goalAmount", "goalUnit", label: "the goal's window")
                step["goal"] = .object(goal)
            } else {
                step.removeValue(forKey: "goal")
            }
            step["next"] = next("next")
        case "destination":
            step["type"] = "destination"
            step["topic"] = fields["topic"].map(JSONValue.string) ?? .null
            step["next"] = next("next")
        case "set_traits":
            step["type"] = "set_traits"
            var traits: [String: JSONValue] = [:]
            for line in fields.raw("traits").split(whereSeparator: \.isNewline) {
                let text = line.trimmingCharacters(in: .whitespaces)
                guard !text.isEmpty else { continue }
                guard let equals = text.firstIndex(of: "=") else {
                    errors["traits"] = "Write each trait as name = value (“\(text)” has no =)."
                    continue
                }
                let key = text[..<equals].trimmingCharacters(in: .whitespaces)
                let value = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else {
                    errors["traits"] = "Each trait needs a name before the =."
                    continue
                }
                traits[key] = Self.literal(value)
            }
            step["traits"] = .object(traits)
            step["next"] = next("next")
        default:
            step["type"] = "exit"
            for key in ["next"] { step.removeValue(forKey: key) }
        }
        return step
    }

    static func defaultIdBase(_ kind: String) -> String {
        kind.hasPrefix("wait_until") ? "wait_until" : kind
    }

    /// A branch name from its event ("Order Completed" -> "order_completed"), unique in the step.
    static func branchName(_ event: String, taken: [JSONValue]) -> String {
        let names = Set(taken.compactMap { $0["name"]?.stringValue })
        let base = JourneyDraft(nil).uniqueId(event)
        var name = base
        var counter = 2
        while names.contains(name) {
            name = "\(base)_\(counter)"
            counter += 1
        }
        return name
    }

    func rows() -> [Int] {
        Array(0..<max(fields.int("rows") ?? 0, 0).clamped(to: 0...20))
    }

    private func next(_ field: String) -> JSONValue {
        guard let value = fields[field] else { return .null }
        if value == Self.afterPrevious { return afterTarget.map(JSONValue.string) ?? .null }
        return .string(value)
    }

    private mutating func number(_ field: String, label: String) -> JSONValue {
        guard let text = fields[field] else { return .null }
        guard let value = Double(text.replacingOccurrences(of: ",", with: ".")), value.isFinite else {
            errors[field] = "Enter a number for \(label)."
            return .null
        }
        return .number(value)
    }

    private mutating func duration(_ amountField: String, _ unitField: String, label: String) -> JSONValue {
        guard let text = fields[amountField] else { return .null }
        guard let amount = Double(text.replacingOccurrences(of: ",", with: ".")), amount.isFinite else {
            errors[amountField] = "Enter a number for \(label)."
            return .null
        }
        return .number(amount * (JourneyText.seconds(in: fields[unitField] ?? "seconds") ?? 1))
    }

    private mutating func condition(prefix: String, existing: JSONValue?) -> JSONValue {
        switch fields[prefix + "type"] {
        case "keep":
            return existing ?? .null
        case "audience":
            return ["type": "audience", "audienceId": fields[prefix + "audienceId"].map(JSONValue.string) ?? .null]
        case "performed":
            return ["type": "performed", "event": fields[prefix + "event"].map(JSONValue.string) ?? .null]
        default:
            var condition: [String: JSONValue] = [
                "type": "trait", "trait": fields[prefix + "trait"].map(JSONValue.string) ?? .null,
            ]
            let op = fields[prefix + "operator"] ?? "equals"
            condition["operator"] = .string(op)
            let text = fields[prefix + "value"] ?? ""
            switch op {
            case "exists", "not_exists": break
            case "in", "not_in":
                condition["value"] = .array(
                    text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }
                        .filter { $0 != .string("") })
            case "greater_than", "greater_or_equal", "less_than", "less_or_equal":
                condition["value"] = Double(text).map(JSONValue.number) ?? .string(text)
            case "before", "after", "contains", "not_contains":
                condition["value"] = .string(text)
            default:
                condition["value"] = Self.scalar(text)
            }
            return .object(condition)
        }
    }

    /// A typed comparison value: a number or true/false when it reads back the same, else text
    /// ("02134" stays text).
    static func scalar(_ text: String) -> JSONValue {
        if text == "true" { return true }
        if text == "false" { return false }
        if let number = Double(text), JourneyText.number(number) == text { return .number(number) }
        return .string(text)
    }
}

extension Comparable {
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
