import Contracts

/// What apply would do to make a space match a directory.
public struct Plan: Sendable {
    public enum Change: Sendable {
        case create(Definition)
        case update(local: Definition, remote: Definition, changes: [JSONDiff.Change])
        case delete(Definition)

        public var label: String {
            switch self {
            case .create(let definition), .delete(let definition), .update(let definition, _, _): definition.label
            }
        }
    }

    public var changes: [Change] = []
    public var unchanged = 0
    /// Definitions of the space the directory does not list, left alone (`--keep-unlisted`).
    public var keptUnlisted = 0

    public var isEmpty: Bool { changes.isEmpty }

    /// Local definitions (normalized) against the space's: creates and updates in dependency
    /// order, then deletes in reverse (unless `keepUnlisted`; settings are never deleted).
    public static func make(local: [Definition], remote: RemoteSpace, keepUnlisted: Bool) -> Plan {
        var plan = Plan()
        var remaining: [String: Definition] = [:]
        for definition in remote.definitions { remaining[key(definition)] = definition }
        for definition in ordered(local.map(Normalization.normalized)) {
            if let existing = remaining.removeValue(forKey: key(definition)) {
                let changes = JSONDiff.changes(
                    from: Normalization.comparable(existing), to: Normalization.comparable(definition))
                if changes.isEmpty {
                    plan.unchanged += 1
                } else {
                    plan.changes.append(.update(local: definition, remote: existing, changes: changes))
                }
            } else {
                plan.changes.append(.create(definition))
            }
        }
        let unlisted = remaining.values.filter { !$0.kind.isSetting }.sorted {
            $0.kind == $1.kind ? $0.identity < $1.identity : $0.kind > $1.kind
        }
        if keepUnlisted {
            plan.keptUnlisted = unlisted.count
        } else {
            plan.changes += unlisted.map(Change.delete)
        }
        return plan
    }

    static func key(_ definition: Definition) -> String { definition.kind.rawValue + "|" + definition.identity }

    /// By kind; audiences so that one naming another (`{"type": "audience", "audience": key}`)
    /// comes after it.
    static func ordered(_ definitions: [Definition]) -> [Definition] {
        let sorted = definitions.sorted { $0.kind == $1.kind ? $0.identity < $1.identity : $0.kind < $1.kind }
        let audiences = sorted.filter { $0.kind == .audience }
        var byKey: [String: Definition] = [:]
        for audience in audiences { byKey[audience.identity] = audience }
        var placed: Set<String> = []
        var result: [Definition] = []
        func place(_ audience: Definition, path: Set<String>) {
            guard !placed.contains(audience.identity), !path.contains(audience.identity) else { return }
            for key in audienceConditionKeys(audience.body["definition"] ?? .null) {
                if let dependency = byKey[key] { place(dependency, path: path.union([audience.identity])) }
            }
            placed.insert(audience.identity)
            result.append(audience)
        }
        for audience in audiences { place(audience, path: []) }
        let before = sorted.filter { $0.kind < .audience }
        let after = sorted.filter { $0.kind > .audience }
        return before + result + after
    }

    /// The audiences an audience definition names (`{"type": "audience", "audience": key}`).
    static func audienceConditionKeys(_ value: JSONValue) -> [String] {
        conditionReferences(in: value, type: "audience", field: "audience")
    }

    /// The computed traits an audience definition names (`{"type": "computed_trait", "trait": key}`).
    static func computedTraitKeys(_ value: JSONValue) -> [String] {
        conditionReferences(in: value, type: "computed_trait", field: "trait")
    }

    /// The `field` of every condition of this `type`, at any depth.
    private static func conditionReferences(in value: JSONValue, type: String, field: String) -> [String] {
        switch value {
        case .array(let items): return items.flatMap { conditionReferences(in: $0, type: type, field: field) }
        case .object(let members):
            var keys: [String] = []
            if members["type"]?.stringValue == type, case .string(let key)? = members[field] { keys.append(key) }
            return keys + members.values.flatMap { conditionReferences(in: $0, type: type, field: field) }
        default: return []
        }
    }

    /// For a person: one line per change, the changed fields under each update.
    public var text: String {
        var lines: [String] = []
        for change in changes {
            switch change {
            case .create(let definition):
                lines.append("+ \(definition.label)" + (definition.file.map { "  (\($0))" } ?? ""))
            case .update(let local, _, let changed):
                lines.append("~ \(local.label)" + (local.file.map { "  (\($0))" } ?? ""))
                lines += changed.map { "    " + $0.line }
            case .delete(let definition):
                lines.append("- \(definition.label)" + (definition.kind == .journey ? "  (archived)" : ""))
            }
        }
        lines.append(summary)
        return lines.joined(separator: "\n")
    }

    public var summary: String {
        var counts = (create: 0, update: 0, delete: 0)
        for change in changes {
            switch change {
            case .create: counts.create += 1
            case .update: counts.update += 1
            case .delete: counts.delete += 1
            }
        }
        let kept = keptUnlisted == 0 ? "" : "; \(keptUnlisted) not in the directory, left as they are"
        if changes.isEmpty {
            return "No changes: the space matches the directory (\(counted(unchanged, "definition"))\(kept))."
        }
        return
            "\(counts.create) to create, \(counts.update) to change, \(counts.delete) to delete; \(unchanged) unchanged\(kept)."
    }

    public var json: JSONValue {
        var create: [JSONValue] = []
        var update: [JSONValue] = []
        var delete: [JSONValue] = []
        for change in changes {
            switch change {
            case .create(let definition): create.append(.string(definition.label))
            case .update(let local, _, let changes):
                update.append(.object(["definition": .string(local.label), "changes": .array(changes.map(\.json))]))
            case .delete(let definition): delete.append(.string(definition.label))
            }
        }
        return .object([
            "create": .array(create), "update": .array(update), "delete": .array(delete),
            "unchanged": .number(Double(unchanged)), "keptUnlisted": .number(Double(keptUnlisted)),
        ])
    }
}

/// "1 definition", "3 definitions".
func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
