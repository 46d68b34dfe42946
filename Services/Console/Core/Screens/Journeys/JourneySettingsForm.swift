import Contracts
import Foundation

/// The journey's own settings as a form: its name, how profiles enter (an event or an audience),
/// when they may enter again, and the exit rules. Event filters (`where`) are kept as they are
/// while the event stays the same; the JSON definition edits them.
struct JourneySettingsForm: Sendable {
    var fields: FormFields
    var audiences: [(id: String, name: String)] = []
    var errors: [String: String] = [:]

    static func fields(name: String, draft: JourneyDraft) -> FormFields {
        let entry = draft.definition["entry"]?.objectValue ?? [:]
        let reentry = draft.definition["reentry"]?.objectValue ?? [:]
        let rules = (draft.definition["exitRules"]?.arrayValue ?? []).compactMap(\.objectValue)
        var pairs: [(String, String)] = [
            ("name", name), ("entryType", entry["type"]?.stringValue ?? "event"),
            ("entryEvent", entry["event"]?.stringValue ?? ""),
            ("entryAudience", entry["audienceId"]?.stringValue ?? ""),
            ("reentryMode", reentry["mode"]?.stringValue ?? "once"),
            (
                "exitEvents",
                rules.filter { $0["type"]?.stringValue == "event" }.compactMap { $0["event"]?.stringValue }
                    .joined(separator: "\n")
            ),
        ]
        if entry["includeExistingMembers"] == .bool(true) { pairs.append(("includeExisting", "on")) }
        if rules.contains(where: { $0["type"]?.stringValue == "left_audience" }) {
            pairs.append(("exitLeftAudience", "on"))
        }
        if let gap = reentry["minimumGapSeconds"]?.numberValue {
            let split = JourneyText.split(gap)
            pairs += [("gapAmount", JourneyText.number(split.amount)), ("gapUnit", split.unit)]
        }
        return FormFields(pairs)
    }

    /// The draft with the form's settings; the steps are left as they are.
    mutating func apply(to draft: inout JourneyDraft) {
        var definition = draft.definition
        let oldEntry = definition["entry"]?.objectValue ?? [:]
        if fields["entryType"] == "audience" {
            var entry: [String: JSONValue] = [
                "type": "audience", "audienceId": fields["entryAudience"].map(JSONValue.string) ?? .null,
            ]
            if fields.isChecked("includeExisting") { entry["includeExistingMembers"] = true }
            definition["entry"] = .object(entry)
        } else {
            var entry: [String: JSONValue] = [
                "type": "event", "event": fields["entryEvent"].map(JSONValue.string) ?? .null,
            ]
            if oldEntry["type"]?.stringValue == "event", oldEntry["event"] == entry["event"],
                let filters = oldEntry["where"]
            {
                entry["where"] = filters
            }
            definition["entry"] = .object(entry)
        }
        switch fields["reentryMode"] {
        case "after_exit":
            var reentry: [String: JSONValue] = ["mode": "after_exit"]
            if let text = fields["gapAmount"] {
                if let amount = Double(text), amount >= 0 {
                    reentry["minimumGapSeconds"] = .number(
                        amount * (JourneyText.seconds(in: fields["gapUnit"] ?? "seconds") ?? 1))
                } else {
                    errors["gapAmount"] = "Enter a number for the gap before entering again."
                }
            }
            definition["reentry"] = .object(reentry)
        case "every_event": definition["reentry"] = ["mode": "every_event"]
        default: definition["reentry"] = ["mode": "once"]
        }
        let oldRules = (definition["exitRules"]?.arrayValue ?? []).compactMap(\.objectValue)
        var rules: [JSONValue] = []
        for line in fields.raw("exitEvents").split(whereSeparator: \.isNewline) {
            let event = line.trimmingCharacters(in: .whitespaces)
            guard !event.isEmpty else { continue }
            let kept = oldRules.first { $0["type"]?.stringValue == "event" && $0["event"]?.stringValue == event }
            rules.append(.object(kept ?? ["type": "event", "event": .string(event)]))
        }
        if fields.isChecked("exitLeftAudience") { rules.append(["type": "left_audience"]) }
        // JSONValue is nil-literal convertible: spelled out, so no rules removes the key rather than writing null.
        definition["exitRules"] = rules.isEmpty ? JSONValue?.none : .array(rules)
        draft.definition = definition
    }

    func view(action: String, problems: [String]) -> [String: Any] {
        let units = JourneyText.units.reversed().map { ($0.name, $0.name) }
        var view: [String: Any] = [
            "action": action, "name": fields.raw("name"), "entryEvent": fields.raw("entryEvent"),
            "entryAudience": fields.raw("entryAudience"), "exitEvents": fields.raw("exitEvents"),
            "gapAmount": fields.raw("gapAmount"),
            "entryIsAudience": fields["entryType"] == "audience",
            "includeExisting": fields.isChecked("includeExisting"),
            "exitLeftAudience": fields.isChecked("exitLeftAudience"),
            "reentryOnce": (fields["reentryMode"] ?? "once") == "once",
            "reentryAfterExit": fields["reentryMode"] == "after_exit",
            "reentryEveryEvent": fields["reentryMode"] == "every_event",
            "gapUnits": units.map {
                ["value": $0.0, "label": $0.1, "selected": $0.0 == (fields["gapUnit"] ?? "hours")]
            },
            "problems": problems, "hasProblems": !problems.isEmpty,
        ]
        if !audiences.isEmpty {
            let chosen = fields["entryAudience"]
            var options = [["value": "", "label": "Choose an audience", "selected": chosen == nil] as [String: Any]]
            options += audiences.map { ["value": $0.id, "label": $0.name, "selected": $0.id == chosen] }
            if let chosen, !audiences.contains(where: { $0.id == chosen }) {
                options.append(["value": chosen, "label": "\(chosen) (not found)", "selected": true])
            }
            view["audienceOptions"] = options
        }
        view["hasAudiences"] = !audiences.isEmpty
        for (key, error) in errors { view[key + "Error"] = error }
        return view
    }
}
