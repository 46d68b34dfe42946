import Contracts

/// The differences between two JSON values, one line per changed path, for a person reading a plan.
public enum JSONDiff {
    public static func lines(from old: JSONValue, to new: JSONValue, path: String = "") -> [String] {
        if old == new { return [] }
        switch (old, new) {
        case (.object(let before), .object(let after)):
            var lines: [String] = []
            for key in Set(before.keys).union(after.keys).sorted() {
                let child = path.isEmpty ? key : path + "." + key
                switch (before[key], after[key]) {
                case (nil, let added?): lines.append("+ \(child): \(added.compactText.clipped)")
                case (let removed?, nil): lines.append("- \(child): \(removed.compactText.clipped)")
                case (let a?, let b?): lines += self.lines(from: a, to: b, path: child)
                case (nil, nil): break
                }
            }
            return lines
        case (.array(let before), .array(let after)) where before.count == after.count:
            return zip(before, after).enumerated().flatMap { index, pair in
                lines(from: pair.0, to: pair.1, path: "\(path)[\(index)]")
            }
        default:
            return ["~ \(path.isEmpty ? "(whole)" : path): \(old.compactText.clipped) -> \(new.compactText.clipped)"]
        }
    }
}

extension String {
    /// At most 120 characters, for one line of a plan.
    var clipped: String { count <= 120 ? self : String(prefix(117)) + "..." }
}
