import Contracts
import Foundation

/// A definition as indented JSON for the editor, with its keys in reading order (entry before
/// steps, a step's id and type first) rather than alphabetical.
enum JourneyJSON {
    static let keyOrder = [
        "entry", "reentry", "exitRules", "start", "steps", "id", "name", "type", "event", "audienceId", "where",
        "seconds", "time", "trait", "channel", "templateId", "condition", "mode", "branches", "percent", "holdout",
        "timeoutSeconds", "goal", "next", "trueNext", "falseNext", "timeoutNext", "otherwiseNext",
    ]

    static func pretty(_ value: JSONValue) -> String {
        var text = ""
        write(value, indent: "", into: &text)
        return text
    }

    private static func write(_ value: JSONValue, indent: String, into text: inout String) {
        let inner = indent + "  "
        switch value {
        case .object(let members) where !members.isEmpty:
            let keys = members.keys.sorted { lhs, rhs in
                let left = keyOrder.firstIndex(of: lhs) ?? keyOrder.count
                let right = keyOrder.firstIndex(of: rhs) ?? keyOrder.count
                return left == right ? lhs < rhs : left < right
            }
            text += "{\n"
            for (index, key) in keys.enumerated() {
                text += inner + JSONValue.string(key).json + ": "
                write(members[key]!, indent: inner, into: &text)
                text += index == keys.count - 1 ? "\n" : ",\n"
            }
            text += indent + "}"
        case .array(let items) where !items.isEmpty:
            // Short lists of scalars stay on one line (["mon", "fri"]).
            if items.allSatisfy({ $0.objectValue == nil && $0.arrayValue == nil }) {
                text += "[" + items.map(\.json).joined(separator: ", ") + "]"
                return
            }
            text += "[\n"
            for (index, item) in items.enumerated() {
                text += inner
                write(item, indent: inner, into: &text)
                text += index == items.count - 1 ? "\n" : ",\n"
            }
            text += indent + "]"
        default:
            text += value.json
        }
    }
}
