import Contracts

/// JSON indented by two spaces for an editor, with members in reading order (the given keys
/// first, in that order, then the rest alphabetically) rather than alphabetical.
struct PrettyJSON: Sendable {
    var keyOrder: [String]
    /// Lists of scalars on one line (`["mon", "fri"]`); off where the page's script rewrites the
    /// text with `JSON.stringify(value, null, 2)`, so both print the same.
    var inlineScalarLists = false

    func text(_ value: JSONValue) -> String {
        var text = ""
        write(value, indent: "", into: &text)
        return text
    }

    private func write(_ value: JSONValue, indent: String, into text: inout String) {
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
            if inlineScalarLists, items.allSatisfy({ $0.objectValue == nil && $0.arrayValue == nil }) {
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
