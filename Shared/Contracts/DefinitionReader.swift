import Foundation

/// Why a definition is malformed, and where: `definition.conditions[1].count.value: must be ...`.
public struct DefinitionError: Error, Equatable, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// The pieces every definition language of the platform reads the same way: required and optional
/// strings, dates, comparisons (`operator` + `value`) and "where" property filters.
public enum DefinitionReader {
    public static func filters(_ json: JSONValue?, _ path: String) throws(DefinitionError) -> [PropertyFilter] {
        guard let json else { return [] }
        guard case .array(let items) = json else {
            throw DefinitionError(path: path, reason: "must be an array of property filters")
        }
        var result: [PropertyFilter] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard case .object(let object) = item else {
                throw DefinitionError(path: itemPath, reason: "must be an object")
            }
            result.append(
                PropertyFilter(
                    property: try string(object, "property", itemPath), comparison: try comparison(object, itemPath)))
        }
        return result
    }

    public static func comparison(_ object: [String: JSONValue], _ path: String) throws(DefinitionError) -> Comparison {
        let text = try string(object, "operator", path)
        guard let op = Comparison.Operator(rawValue: text) else {
            throw DefinitionError(
                path: "\(path).operator",
                reason:
                    "unknown operator \"\(text)\" (expected one of \(Comparison.Operator.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        let operand = object["value"] ?? .null
        switch op {
        case .exists, .notExists:
            return Comparison(op)
        case .oneOf, .notIn:
            guard case .array(let items) = operand, !items.isEmpty else {
                throw DefinitionError(path: "\(path).value", reason: "\(op.rawValue) needs a non-empty array")
            }
        case .greaterThan, .greaterOrEqual, .lessThan, .lessOrEqual:
            guard operand.numberValue != nil else {
                throw DefinitionError(path: "\(path).value", reason: "\(op.rawValue) needs a number")
            }
        case .before, .after:
            guard Comparison.date(operand) != nil, operand.stringValue.map({ Timestamp.parse($0) != nil }) ?? true
            else {
                throw DefinitionError(path: "\(path).value", reason: "\(op.rawValue) needs an ISO-8601 date")
            }
        case .contains, .notContains:
            guard case .string = operand else {
                throw DefinitionError(path: "\(path).value", reason: "\(op.rawValue) needs a string")
            }
        case .equals, .notEquals:
            switch operand {
            case .string, .number, .largeInteger, .bool: break
            default:
                throw DefinitionError(path: "\(path).value", reason: "\(op.rawValue) needs a string, number or boolean")
            }
        }
        return Comparison(op, operand)
    }

    public static func string(_ object: [String: JSONValue], _ key: String, _ path: String) throws(DefinitionError)
        -> String
    {
        guard let value = object[key] else { throw DefinitionError(path: "\(path).\(key)", reason: "is required") }
        guard case .string(let text) = value, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DefinitionError(path: "\(path).\(key)", reason: "must be a non-empty string")
        }
        guard text.utf8.count <= 255, !text.utf8.contains(0) else {
            throw DefinitionError(path: "\(path).\(key)", reason: "must be at most 255 bytes, without NUL")
        }
        return text
    }

    public static func optionalString(_ object: [String: JSONValue], _ key: String, _ path: String)
        throws(DefinitionError) -> String?
    {
        guard let value = object[key], value != .null else { return nil }
        return try string(object, key, path)
    }

    public static func date(_ object: [String: JSONValue], _ key: String, _ path: String) throws(DefinitionError)
        -> Date
    {
        let text = try string(object, key, path)
        guard let date = Timestamp.parse(text) else {
            throw DefinitionError(path: "\(path).\(key)", reason: "must be an ISO-8601 date")
        }
        return date
    }
}
