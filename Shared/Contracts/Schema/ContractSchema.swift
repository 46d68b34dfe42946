import Foundation

/// The JSON Schema of a contract, derived from its one definition: the type's own `Decodable`
/// conformance is run against a decoder that answers every request and writes down what was asked
/// (which keys, required or optional, of which type). A field added to the type is in the schema;
/// there is nothing else to keep in step. Published under Shared/Contracts/Schemas and in the docs
/// for downstream tools; `ContractCompatibility` compares two versions of it.
public indirect enum ContractSchema: Equatable, Sendable {
    case string(format: String?)
    case integer
    case number
    case boolean
    /// A string with one of these values.
    case enumeration([String])
    case array(ContractSchema)
    /// `required`: keys a value must have. `additional`: the schema of any other key (maps).
    case object(properties: [String: ContractSchema], required: Set<String>, additional: ContractSchema?)
    /// Any JSON (Segment traits, properties, context).
    case any
    case nullable(ContractSchema)

    /// The schema of `type`, from its `init(from:)`.
    public static func of<T: Decodable>(_ type: T.Type) throws -> ContractSchema {
        try SchemaProbe.schema(of: type).schema
    }

    /// JSON Schema (2020-12) as a JSON-compatible value, for `JSONSerialization`.
    public func jsonSchema(title: String? = nil) -> [String: Any] {
        var document = body
        if let title {
            document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            document["title"] = title
        }
        return document
    }

    private var body: [String: Any] {
        switch self {
        case .string(let format):
            return format.map { ["type": "string", "format": $0] } ?? ["type": "string"]
        case .integer: return ["type": "integer"]
        case .number: return ["type": "number"]
        case .boolean: return ["type": "boolean"]
        case .enumeration(let values): return ["type": "string", "enum": values]
        case .array(let items): return ["type": "array", "items": items.body]
        case .object(let properties, let required, let additional):
            var object: [String: Any] = ["type": "object"]
            if !properties.isEmpty { object["properties"] = properties.mapValues(\.body) }
            if !required.isEmpty { object["required"] = required.sorted() }
            if let additional { object["additionalProperties"] = additional.body }
            return object
        case .any: return [:]
        case .nullable(let wrapped): return ["anyOf": [wrapped.body, ["type": "null"]]]
        }
    }
}

/// A type whose schema is not what its `init(from:)` would show a probe (it tries several shapes).
protocol SchemaDescribed {
    static var contractSchema: ContractSchema { get }
}

extension JSONValue: SchemaDescribed {
    static var contractSchema: ContractSchema { .any }
}

extension Date: SchemaDescribed {
    static var contractSchema: ContractSchema { .string(format: "date-time") }
}

/// Values the probe hands back for types it cannot construct by decoding.
protocol SchemaProbeEmpty {
    static var probeEmpty: Self { get }
}

extension Array: SchemaProbeEmpty { static var probeEmpty: Self { [] } }
extension Set: SchemaProbeEmpty { static var probeEmpty: Self { [] } }
extension Dictionary: SchemaProbeEmpty { static var probeEmpty: Self { [:] } }
extension Optional: SchemaProbeEmpty { static var probeEmpty: Self { nil } }

/// Element types of the collections a contract may hold, so that the probe can describe their elements.
protocol SchemaSequence { static var elementType: any Decodable.Type { get } }
extension Array: SchemaSequence where Element: Decodable { static var elementType: any Decodable.Type { Element.self } }
extension Set: SchemaSequence where Element: Decodable { static var elementType: any Decodable.Type { Element.self } }
protocol SchemaMap { static var valueType: any Decodable.Type { get } }
extension Dictionary: SchemaMap where Key == String, Value: Decodable {
    static var valueType: any Decodable.Type { Value.self }
}
protocol SchemaOptional { static var wrappedType: any Decodable.Type { get } }
extension Optional: SchemaOptional where Wrapped: Decodable {
    static var wrappedType: any Decodable.Type { Wrapped.self }
}

/// The raw values of a string enum, and one of its cases (contract enums are `CaseIterable`).
func enumerationCases<E: CaseIterable & RawRepresentable<String>>(_ type: E.Type) -> (values: [String], first: Any) {
    (type.allCases.map(\.rawValue), type.allCases.first as Any)
}
