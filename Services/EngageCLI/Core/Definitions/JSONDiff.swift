import Contracts

/// The differences between two JSON values, one per changed path: what a plan shows a person
/// (`~ definition.value: 1 -> 2`) and a script (`{"path", "op", "from", "to"}`).
public enum JSONDiff {
    public struct Change: Sendable, Equatable {
        public enum Operation: String, Sendable { case add, remove, change }
        public var path: String
        public var operation: Operation
        public var from: JSONValue?
        public var to: JSONValue?

        public var line: String {
            let place = path.isEmpty ? "(whole)" : path
            switch operation {
            case .add: return "+ \(place): \(to?.compactText.clipped ?? "")"
            case .remove: return "- \(place): \(from?.compactText.clipped ?? "")"
            case .change: return "~ \(place): \(from?.compactText.clipped ?? "") -> \(to?.compactText.clipped ?? "")"
            }
        }

        public var json: JSONValue {
            var members: [String: JSONValue] = ["path": .string(path), "op": .string(operation.rawValue)]
            if let from { members["from"] = from }
            if let to { members["to"] = to }
            return .object(members)
        }
    }

    public static func changes(from old: JSONValue, to new: JSONValue, path: String = "") -> [Change] {
        if old == new { return [] }
        switch (old, new) {
        case (.object(let before), .object(let after)):
            var changes: [Change] = []
            for key in Set(before.keys).union(after.keys).sorted() {
                let child = path.isEmpty ? key : path + "." + key
                switch (before[key], after[key]) {
                case (nil, let added?): changes.append(Change(path: child, operation: .add, to: added))
                case (let removed?, nil): changes.append(Change(path: child, operation: .remove, from: removed))
                case (let a?, let b?): changes += self.changes(from: a, to: b, path: child)
                case (nil, nil): break
                }
            }
            return changes
        case (.array(let before), .array(let after)):
            // Element by element over the common length, then what one side has more of.
            var changes: [Change] = []
            for index in 0..<min(before.count, after.count) {
                changes += self.changes(from: before[index], to: after[index], path: "\(path)[\(index)]")
            }
            for index in after.indices.dropFirst(before.count) {
                changes.append(Change(path: "\(path)[\(index)]", operation: .add, to: after[index]))
            }
            for index in before.indices.dropFirst(after.count) {
                changes.append(Change(path: "\(path)[\(index)]", operation: .remove, from: before[index]))
            }
            return changes
        default:
            return [Change(path: path, operation: .change, from: old, to: new)]
        }
    }

    public static func lines(from old: JSONValue, to new: JSONValue) -> [String] {
        changes(from: old, to: new).map(\.line)
    }
}

extension String {
    /// At most 120 characters, for one line of a plan.
    var clipped: String { count <= 120 ? self : String(prefix(117)) + "..." }
}
