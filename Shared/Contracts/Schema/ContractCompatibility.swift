/// Whether a new version of a contract can be rolled out while the previous version still runs. Both
/// directions matter during a rolling upgrade: consumers one version behind read what new producers
/// write, and new consumers read what old producers wrote (and what is still on the topic).
public enum ContractCompatibility {
    /// Every change from `old` to `new` that breaks one of those readers, one line each; empty when
    /// the change is safe (a new optional field, a field that may no longer be null...).
    public static func breakingChanges(from old: ContractSchema, to new: ContractSchema, at path: String = "")
        -> [String]
    {
        let place = path.isEmpty ? "the record" : path
        switch (old, new) {
        case (.nullable(let was), .nullable(let now)):
            return breakingChanges(from: was, to: now, at: path)
        case (.nullable(let was), _):
            return breakingChanges(from: was, to: new, at: path)
        case (_, .nullable(let now)):
            return ["\(place) may now be null, which a reader one version behind refuses"]
                + breakingChanges(from: old, to: now, at: path)
        case (
            .object(let oldProperties, let oldRequired, let oldAdditional),
            .object(let newProperties, let newRequired, let newAdditional)
        ):
            var changes: [String] = []
            for key in oldProperties.keys.sorted() {
                let field = path.isEmpty ? key : "\(path).\(key)"
                guard let now = newProperties[key] else {
                    changes.append("\(field) was removed (or renamed): a reader one version behind still reads it")
                    continue
                }
                if oldRequired.contains(key) && !newRequired.contains(key) {
                    changes.append("\(field) is no longer required: a reader one version behind expects it")
                }
                changes += breakingChanges(from: oldProperties[key]!, to: now, at: field)
            }
            for key in newRequired.subtracting(oldRequired).sorted() where oldProperties[key] == nil {
                let field = path.isEmpty ? key : "\(path).\(key)"
                changes.append("\(field) is a new required field: records written by the previous version lack it")
            }
            for key in newRequired.intersection(oldProperties.keys).subtracting(oldRequired).sorted() {
                let field = path.isEmpty ? key : "\(path).\(key)"
                changes.append("\(field) became required: records written by the previous version may lack it")
            }
            switch (oldAdditional, newAdditional) {
            case (let was?, let now?): changes += breakingChanges(from: was, to: now, at: "\(path)[*]")
            case (nil, nil): break
            default: changes.append("\(place) changed between a map and a record")
            }
            return changes
        case (.array(let was), .array(let now)):
            return breakingChanges(from: was, to: now, at: "\(path)[]")
        case (.enumeration(let was), .enumeration(let now)):
            var changes: [String] = []
            let removed = Set(was).subtracting(now).sorted()
            let added = Set(now).subtracting(was).sorted()
            if !removed.isEmpty {
                changes.append(
                    "\(place) no longer has \(removed.joined(separator: ", ")): records of the previous version do")
            }
            if !added.isEmpty {
                changes.append(
                    "\(place) has new values \(added.joined(separator: ", ")) that a reader one version behind refuses")
            }
            return changes
        case (.any, .any), (.integer, .integer), (.number, .number), (.boolean, .boolean):
            return []
        case (.string(let was), .string(let now)):
            return was == now ? [] : ["\(place) changed its format from \(was ?? "none") to \(now ?? "none")"]
        default:
            return ["\(place) changed type from \(old.kind) to \(new.kind)"]
        }
    }
}

extension ContractSchema {
    var kind: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .enumeration: "enumeration"
        case .array: "array"
        case .object(_, _, let additional): additional == nil ? "object" : "map"
        case .any: "any JSON"
        case .nullable(let wrapped): "nullable \(wrapped.kind)"
        }
    }

    /// Reads back what `jsonSchema` wrote (for the committed files of earlier versions).
    public init(jsonSchema value: Any) throws {
        guard let object = value as? [String: Any] else {
            throw SchemaProbe.Unsupported(description: "not a JSON Schema object")
        }
        if let anyOf = object["anyOf"] as? [Any], anyOf.count == 2 {
            self = .nullable(try ContractSchema(jsonSchema: anyOf[0]))
            return
        }
        switch object["type"] as? String {
        case nil: self = .any
        case "string":
            if let values = object["enum"] as? [String] {
                self = .enumeration(values)
            } else {
                self = .string(format: object["format"] as? String)
            }
        case "integer": self = .integer
        case "number": self = .number
        case "boolean": self = .boolean
        case "array": self = .array(try ContractSchema(jsonSchema: object["items"] ?? [:]))
        case "object":
            let properties = try (object["properties"] as? [String: Any] ?? [:]).mapValues {
                try ContractSchema(jsonSchema: $0)
            }
            self = .object(
                properties: properties, required: Set(object["required"] as? [String] ?? []),
                additional: try object["additionalProperties"].map { try ContractSchema(jsonSchema: $0) })
        case let other?:
            throw SchemaProbe.Unsupported(description: "JSON Schema type \(other) is not used by contracts")
        }
    }
}
