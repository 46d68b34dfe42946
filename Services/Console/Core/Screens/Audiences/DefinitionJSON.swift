import Contracts
import Foundation

/// Definitions as the person sees and types them: parsed from the JSON textarea, printed back in
/// the layout the page's script writes (`JSON.stringify(value, null, 2)` with `type` first), and
/// single values shown as text in the builder's inputs.
enum DefinitionJSON {
    struct Unreadable: Error {
        var message: String
    }

    /// The textarea's text as JSON; a message for a person when it is not JSON at all (what the
    /// JSON means is for the audiences API to judge).
    static func parse(_ text: String, what: String = "definition") throws -> JSONValue {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw Unreadable(message: "The \(what) is empty: build it with the conditions, or type it as JSON.")
        }
        do {
            return try JSONParser.parse(Array(text.utf8))
        } catch {
            throw Unreadable(
                message: "The \(what) is not valid JSON: \(error.reason) (at character \(error.offset + 1)).")
        }
    }

    /// Members in the order a person reads a condition: what it is, what it looks at, then how.
    static let memberOrder = [
        "type", "event", "trait", "audience", "channel", "group", "status", "property", "aggregation", "operator",
        "value", "unit", "from", "to", "count", "window", "within", "between", "where", "condition", "conditions",
    ]

    static func pretty(_ value: JSONValue) -> String {
        PrettyJSON(keyOrder: memberOrder).text(value)
    }

    static func compact(_ value: JSONValue) -> String {
        var writer = JSONWriter()
        writer.write(value)
        return writer.string
    }

    static func data(_ value: JSONValue) -> Data {
        var writer = JSONWriter()
        writer.write(value)
        return Data(writer.bytes)
    }

    /// A value as the text of an input: strings as they are, lists joined with ", ".
    static func text(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: ""
        case .string(let text)?: text
        case .array(let items)?: items.map { text($0) }.joined(separator: ", ")
        case let other?: compact(other)
        }
    }

    static func string(_ object: [String: JSONValue], _ key: String) -> String {
        text(object[key])
    }
}

/// A `<select>`'s options, with the current value selected; a value the list does not know (typed
/// in the JSON) is kept as an extra option, so that it goes back to the API to be judged.
struct SelectOptions {
    var choices: [(value: String, label: String)]

    func view(selected: String?) -> [[String: Any]] {
        var list: [[String: Any]] = choices.map {
            ["value": $0.value, "label": $0.label, "selected": $0.value == selected]
        }
        if let selected, !choices.contains(where: { $0.value == selected }) {
            list.append(["value": selected, "label": selected, "selected": true])
        }
        return list
    }

    static let operators = SelectOptions(choices: [
        ("equals", "equals"), ("not_equals", "does not equal"), ("contains", "contains"),
        ("not_contains", "does not contain"), ("in", "is one of"), ("not_in", "is not one of"),
        ("greater_than", "is greater than"), ("greater_or_equal", "is at least"), ("less_than", "is less than"),
        ("less_or_equal", "is at most"), ("before", "is before (date)"), ("after", "is after (date)"),
        ("exists", "exists"), ("not_exists", "does not exist"),
    ])
    static let counts = SelectOptions(choices: [
        ("at_least", "at least"), ("at_most", "at most"), ("exactly", "exactly"),
    ])
    static let windows = SelectOptions(choices: [
        ("", "at any time"), ("within", "in the last"), ("between", "between dates"),
    ])
    static let units = SelectOptions(choices: [("minutes", "minutes"), ("hours", "hours"), ("days", "days")])
    static let matches = SelectOptions(choices: [("all", "all of"), ("any", "any of"), ("none", "none of")])
    static let channels = SelectOptions(choices: [("EMAIL", "Email"), ("SMS", "SMS"), ("WHATSAPP", "WhatsApp")])
    static let statuses = SelectOptions(choices: [
        ("subscribed", "subscribed"), ("unsubscribed", "unsubscribed"), ("did_not_subscribe", "did not subscribe"),
        ("no_status", "no status"),
    ])
    static let conditionKinds = SelectOptions(choices: [
        ("event", "Performed an event"), ("trait", "Trait"), ("computed_trait", "Computed trait"),
        ("audience", "Member of an audience"), ("subscription", "Subscription state"),
    ])
    static let computedTraitTypes = SelectOptions(choices: [
        ("event_counter", "Event counter"), ("aggregation", "Aggregation of a property"),
        ("most_frequent", "Most frequent value"), ("first", "First value"), ("last", "Last value"),
    ])
    static let aggregations = SelectOptions(choices: [
        ("sum", "sum"), ("min", "minimum"), ("max", "maximum"), ("average", "average"),
    ])
}
