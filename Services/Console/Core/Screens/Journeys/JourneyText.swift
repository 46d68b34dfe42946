import Contracts
import Foundation

/// How journeys read to a person: step types, one-line step summaries, durations and times.
enum JourneyText {
    /// The kinds of step the forms offer. Two are the API's `wait_until` (a time of day, a date
    /// held in a trait); the others are the API's types as they are.
    static let kinds: [(kind: String, label: String)] = [
        ("wait", "Wait"), ("wait_until_time", "Wait until a time of day"),
        ("wait_until_trait", "Wait until a date in a trait"), ("wait_for_event", "Wait for an event"),
        ("split", "True/false split"), ("multi_split", "Multi-branch split"), ("random_split", "Random split"),
        ("send", "Send a message"), ("destination", "Send to a destination topic"), ("set_traits", "Set traits"),
        ("exit", "Exit"),
    ]

    static func kindLabel(_ kind: String) -> String {
        kinds.first { $0.kind == kind }?.label ?? kind
    }

    /// The form kind of a step in the definition.
    static func kind(of step: [String: JSONValue]) -> String {
        let type = step["type"]?.stringValue ?? ""
        if type == "wait_until" { return step["trait"]?.stringValue != nil ? "wait_until_trait" : "wait_until_time" }
        return type
    }

    /// The heading of a step's box: its type, with the channel for a send.
    static func typeLabel(_ step: [String: JSONValue]) -> String {
        switch kind(of: step) {
        case "send": "Send \(channelLabel(step["channel"]?.stringValue ?? ""))"
        case "wait_until_time", "wait_until_trait": "Wait until"
        case "destination": "Destination"
        case "": "Step without a type"
        case let other: kinds.first { $0.kind == other }?.label ?? other
        }
    }

    static func channelLabel(_ channel: String) -> String {
        switch channel.uppercased() {
        case "EMAIL": "email"
        case "SMS": "SMS"
        case "WHATSAPP": "WhatsApp"
        default: channel.isEmpty ? "message" : channel
        }
    }

    /// What the step does, in a line.
    static func summary(_ step: [String: JSONValue], templates: [String: String]) -> String {
        switch kind(of: step) {
        case "wait":
            return step["seconds"]?.numberValue.map { "for \(duration($0))" } ?? "no duration yet"
        case "wait_until_time":
            var text = "until \(step["time"]?.stringValue ?? "?")"
            if let days = step["weekdays"]?.arrayValue, !days.isEmpty {
                text += " on " + days.compactMap(\.stringValue).joined(separator: ", ")
            }
            return text
        case "wait_until_trait":
            let trait = step["trait"]?.stringValue ?? "?"
            let offset = step["offsetSeconds"]?.numberValue ?? 0
            if offset == 0 { return "until the date in \(trait)" }
            return "\(duration(abs(offset))) \(offset < 0 ? "before" : "after") the date in \(trait)"
        case "wait_for_event":
            let events = (step["branches"]?.arrayValue ?? []).compactMap { $0["event"]?.stringValue }
            let timeout = step["timeoutSeconds"]?.numberValue.map { ", up to \(duration($0))" } ?? ""
            return (events.isEmpty ? "no event yet" : events.joined(separator: " or ")) + timeout
        case "split":
            return "if " + condition(step["condition"])
        case "multi_split":
            let count = step["branches"]?.arrayValue?.count ?? 0
            let mode = step["mode"]?.stringValue == "all" ? "every match" : "first match"
            return "\(count) branch\(count == 1 ? "" : "es"), \(mode)"
        case "random_split":
            return (step["branches"]?.arrayValue ?? []).map { branch in
                let percent = number(branch["percent"]?.numberValue ?? 0) + "%"
                return branch["holdout"] == .bool(true) ? "holdout \(percent)" : percent
            }.joined(separator: " / ")
        case "send":
            let id = step["templateId"]?.stringValue ?? ""
            var text = id.isEmpty ? "no template yet" : (templates[id] ?? id)
            if let goal = step["goal"]?["event"]?.stringValue { text += " · goal \(goal)" }
            return text
        case "destination":
            return step["topic"]?.stringValue ?? "no topic yet"
        case "set_traits":
            return (step["traits"]?.objectValue ?? [:]).keys.sorted().joined(separator: ", ")
        case "exit":
            return "ends the pass"
        default:
            return ""
        }
    }

    /// A condition of a split, shortly ("plan equals pro", "in audience aud_1", "performed X").
    static func condition(_ json: JSONValue?) -> String {
        guard let object = json?.objectValue else { return "no condition yet" }
        switch object["type"]?.stringValue {
        case "trait":
            let op = (object["operator"]?.stringValue ?? "?").replacingOccurrences(of: "_", with: " ")
            let value = object["value"].map(display) ?? ""
            return [object["trait"]?.stringValue ?? "?", op, value].filter { !$0.isEmpty }.joined(separator: " ")
        case "audience": return "in audience \(object["audienceId"]?.stringValue ?? "?")"
        case "performed": return "performed \(object["event"]?.stringValue ?? "?")"
        case "and", "or":
            let parts = (object["conditions"]?.arrayValue ?? []).map { condition($0) }
            return parts.joined(separator: " \(object["type"]!.stringValue!) ")
        case "not": return "not (\(condition(object["condition"])))"
        default: return "a condition"
        }
    }

    /// A JSON value as a person types it: strings bare, lists comma-separated.
    static func display(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .number(let number): self.number(number)
        case .array(let items): items.map(display).joined(separator: ", ")
        case .null: ""
        default: value.json
        }
    }

    static func number(_ value: Double) -> String {
        if let integer = JSONValue.exactInteger(value) { return String(integer) }
        return String(value)
    }

    static let units: [(name: String, seconds: Double)] = [
        ("days", 86_400), ("hours", 3_600), ("minutes", 60), ("seconds", 1),
    ]

    /// "2 seconds", "1 hour", "90 minutes".
    static func duration(_ seconds: Double) -> String {
        let (amount, unit) = split(seconds)
        let name = amount == 1 ? String(unit.dropLast()) : unit
        return "\(number(amount)) \(name)"
    }

    /// The largest unit that gives a whole number (for the forms' amount and unit fields).
    static func split(_ seconds: Double) -> (amount: Double, unit: String) {
        for unit in units where seconds >= unit.seconds && (seconds / unit.seconds).rounded() == seconds / unit.seconds
        {
            return (seconds / unit.seconds, unit.name)
        }
        return (seconds, "seconds")
    }

    static func seconds(in unit: String) -> Double? {
        units.first { $0.name == unit }?.seconds
    }

    /// "2026-12-06 07:18:28 UTC" from the API's ISO-8601 times.
    static func time(_ value: JSONValue?) -> String {
        DisplayText.time(value?.stringValue)
    }

    /// Why a pass ended, for a person.
    static func exitReason(_ reason: String?) -> String {
        guard let reason else { return "" }
        switch reason {
        case "completed": return "reached the end of its path"
        case "exit_step": return "reached an exit step"
        case "archived": return "the journey was archived"
        case "left_audience": return "left the entry audience"
        case "holdout": return "held out by a random split"
        default:
            if reason.hasPrefix("exit_event:") {
                return "exit rule: performed \(reason.dropFirst("exit_event:".count))"
            }
            return reason
        }
    }
}
