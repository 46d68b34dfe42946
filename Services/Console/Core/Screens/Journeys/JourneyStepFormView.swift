import Contracts
import Foundation

/// The step form's values for the `journeys-step-form` template: selects as
/// `{name, id, label, options: [{value, label, selected}]}`, rows for branches, a flag per kind.
extension JourneyStepForm {
    /// What a new step of a kind starts with, placed at `after`.
    static func defaults(kind: String, after: String) -> FormFields {
        var pairs: [(String, String)] = []
        switch kind {
        case "wait": pairs = [("amount", "1"), ("unit", "hours"), ("next", afterPrevious)]
        case "wait_until_time":
            pairs = [
                ("time", "09:00"), ("timeZoneTrait", "timezone"), ("defaultTimeZone", "UTC"), ("next", afterPrevious),
            ]
        case "wait_until_trait": pairs = [("offsetUnit", "days"), ("next", afterPrevious)]
        case "wait_for_event":
            pairs = [("rows", "2"), ("timeoutAmount", "1"), ("timeoutUnit", "days"), ("timeoutNext", afterPrevious)]
        case "split": pairs = [("cond.type", "trait"), ("cond.operator", "equals"), ("trueNext", afterPrevious)]
        case "multi_split":
            pairs = [
                ("rows", "2"), ("mode", "first"), ("branch.0.cond.type", "trait"), ("otherwiseNext", afterPrevious),
            ]
        case "random_split":
            pairs = [
                ("rows", "3"), ("branch.0.name", "a"), ("branch.0.percent", "50"), ("branch.0.next", afterPrevious),
                ("branch.1.name", "b"), ("branch.1.percent", "50"),
            ]
        case "send": pairs = [("purpose", "marketing"), ("goalUnit", "days"), ("next", afterPrevious)]
        case "destination", "set_traits": pairs = [("next", afterPrevious)]
        default: break
        }
        return FormFields(pairs + [("after", after)])
    }

    func view(action: String, problems: [String]) -> [String: Any] {
        var view: [String: Any] = [
            "action": action, "adding": editing == nil, "kind": kind, "kindLabel": JourneyText.kindLabel(kind),
            "id": fields.raw("id"), "name": fields.raw("name"), "rows": "\(rows().count)",
            "problems": problems, "hasProblems": !problems.isEmpty,
            "is_\(kind)": true,
        ]
        if let editing {
            view["heading"] = "Edit step “\(draft.title(editing))”"
            view["stepId"] = editing
        } else {
            view["heading"] = "Add a step: \(JourneyText.kindLabel(kind))"
            view["after"] = select(
                "after", "step-after", "Comes after",
                draft.slots.map { ($0.formValue, slotLabel($0)) }, selected: fields["after"])
        }
        for (key, error) in errors { view["\(key.replacingOccurrences(of: ".", with: "_"))Error"] = error }
        for field in ["next", "timeoutNext", "trueNext", "falseNext", "otherwiseNext"] {
            view[field] = nextSelect(field, "step-\(field)", Self.nextLabels[field] ?? "Then")
        }
        let units = JourneyText.units.reversed().map { ($0.name, $0.name) }
        for (amount, unit, unitLabel) in [
            ("amount", "unit", "Wait unit"), ("timeoutAmount", "timeoutUnit", "Timeout unit"),
            ("offsetAmount", "offsetUnit", "Offset unit"), ("goalAmount", "goalUnit", "Goal window unit"),
        ] {
            view[amount] = fields.raw(amount)
            view[unit] = select(unit, "step-\(unit)", unitLabel, units, selected: fields[unit] ?? "seconds")
        }
        for field in [
            "time", "timeZoneTrait", "defaultTimeZone", "trait", "templateVersion", "group", "goalEvent", "topic",
        ] {
            view[field] = fields.raw(field)
        }
        view["traits"] = fields.raw("traits")
        view["offsetBefore"] = fields["offsetDirection"] == "before"
        view["modeAll"] = fields["mode"] == "all"
        let checked = Set(fields.all("weekdays"))
        view["weekdays"] = Self.weekdays.map {
            ["value": $0, "label": $0.capitalized, "checked": checked.contains($0)]
        }
        view["purpose"] = select(
            "purpose", "step-purpose", "Purpose",
            [("marketing", "Marketing (needs consent)"), ("transactional", "Transactional")],
            selected: fields["purpose"] ?? "marketing")
        view["cond"] = conditionView(prefix: "cond.", id: "step-cond", suffix: "")
        view["branches"] = rows().map(branchView)
        view["templateGroups"] = templateGroups()
        view["hasTemplates"] = !templates.isEmpty
        return view
    }

    static let nextLabels = [
        "next": "Then", "timeoutNext": "On timeout, go to", "trueNext": "If true, go to",
        "falseNext": "If false, go to", "otherwiseNext": "Otherwise, go to",
    ]

    /// How a place in the graph reads in "Comes after".
    func slotLabel(_ slot: JourneyDraft.Slot) -> String {
        var text: String
        if let stepId = slot.stepId {
            text = "After “\(draft.title(stepId))”"
            switch slot.key {
            case "next": break
            case "timeoutNext": text += ", on timeout"
            case "trueNext": text += ", if true"
            case "falseNext": text += ", if false"
            case "otherwiseNext": text += ", otherwise"
            default: text += ", on “\(slot.label ?? slot.key)”"
            }
        } else {
            text = "At the start"
        }
        if let target = slot.target { text += " (before “\(draft.title(target))”)" }
        return text
    }

    private func branchView(_ row: Int) -> [String: Any] {
        let prefix = "branch.\(row)."
        let id = "step-branch-\(row)"
        var view: [String: Any] = [
            "index": row, "number": row + 1, "prefix": prefix, "idPrefix": id,
            "name": fields.raw(prefix + "name"), "event": fields.raw(prefix + "event"),
            "percent": fields.raw(prefix + "percent"), "holdout": fields.isChecked(prefix + "holdout"),
            "next": nextSelect(
                prefix + "next", id + "-next",
                kind == "wait_for_event" ? "After event \(row + 1), go to" : "Branch \(row + 1) goes to"),
            "cond": conditionView(prefix: prefix + "cond.", id: id + "-cond", suffix: " (branch \(row + 1))"),
        ]
        if let error = errors[prefix + "percent"] { view["percentError"] = error }
        return view
    }

    /// `suffix` tells a branch's fields apart from the next branch's ("Trait (branch 2)").
    private func conditionView(prefix: String, id: String, suffix: String) -> [String: Any] {
        var types = [
            ("trait", "A trait"), ("audience", "Membership of an audience"), ("performed", "Performed an event"),
        ]
        if fields[prefix + "type"] == "keep" { types.insert(("keep", "As in the JSON definition"), at: 0) }
        var view: [String: Any] = [
            "prefix": prefix, "idPrefix": id,
            "type": select(
                prefix + "type", id + "-type", "Condition", types, selected: fields[prefix + "type"] ?? "trait"),
            "operator": select(
                prefix + "operator", id + "-operator", "Operator" + suffix,
                Comparison.Operator.allCases.map {
                    ($0.rawValue, $0.rawValue.replacingOccurrences(of: "_", with: " "))
                },
                selected: fields[prefix + "operator"] ?? "equals"),
            "trait": fields.raw(prefix + "trait"), "value": fields.raw(prefix + "value"),
            "event": fields.raw(prefix + "event"), "audienceId": fields.raw(prefix + "audienceId"),
            "keep": fields[prefix + "type"] == "keep", "suffix": suffix,
        ]
        if !audiences.isEmpty {
            view["audience"] = select(
                prefix + "audienceId", id + "-audience", "Audience" + suffix,
                [("", "Choose an audience")] + audiences.map { ($0.id, $0.name) },
                selected: fields[prefix + "audienceId"])
        }
        return view
    }

    private func templateGroups() -> [[String: Any]] {
        let selected = fields["templateId"]
        var groups: [[String: Any]] = []
        for channel in ["EMAIL", "SMS", "WHATSAPP"] {
            let options = templates.filter { $0.channel == channel }.map {
                ["value": $0.id, "label": $0.name, "selected": $0.id == selected] as [String: Any]
            }
            if !options.isEmpty { groups.append(["label": JourneyText.channelLabel(channel), "options": options]) }
        }
        if let selected, !templates.contains(where: { $0.id == selected }) {
            groups.append([
                "label": "Not found",
                "options": [
                    ["value": selected, "label": "\(selected) (not a template of this space)", "selected": true]
                ],
            ])
        }
        return groups
    }

    private func nextSelect(_ name: String, _ id: String, _ label: String) -> [String: Any] {
        var options: [(String, String)] = []
        if editing == nil { options.append((Self.afterPrevious, "Continue as before (where “Comes after” led)")) }
        options.append(("", "End of the path"))
        for step in draft.steps {
            guard let stepId = step["id"]?.stringValue, stepId != editing else { continue }
            let title = JourneyDraft.title(step)
            options.append((stepId, title == stepId ? title : "\(title) (\(stepId))"))
        }
        let current = fields[name] ?? ""
        if !current.isEmpty, !options.contains(where: { $0.0 == current }) {
            options.append((current, "“\(current)” (not a step)"))
        }
        return select(name, id, label, options, selected: current)
    }

    func select(_ name: String, _ id: String, _ label: String, _ options: [(String, String)], selected: String?)
        -> [String: Any]
    {
        let chosen = selected ?? ""
        return [
            "name": name, "id": id, "label": label,
            "options": options.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == chosen] as [String: Any] },
        ]
    }
}
