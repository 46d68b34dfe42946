import Foundation

/// A `Decoder` that answers every request of a type's `init(from:)` with a harmless value and records
/// the request: the keys asked for, whether with `decode` (required) or `decodeIfPresent` (optional),
/// and the type asked for. What it records is the type's schema (`ContractSchema.of`).
struct SchemaProbe {
    struct Described<T> {
        var schema: ContractSchema
        var value: T
    }

    struct Unsupported: Error, CustomStringConvertible {
        var description: String
    }

    /// The schema of `type` and a value of it to hand back to the decoder that asked.
    static func schema<T: Decodable>(of type: T.Type, codingPath: [any CodingKey] = []) throws -> Described<T> {
        if let described = T.self as? any SchemaDescribed.Type {
            return Described(schema: described.contractSchema, value: try placeholder(type))
        }
        switch T.self {
        case is String.Type: return Described(schema: .string(format: nil), value: "" as! T)
        case is Bool.Type: return Described(schema: .boolean, value: false as! T)
        case is Int.Type: return Described(schema: .integer, value: 0 as! T)
        case is Int64.Type: return Described(schema: .integer, value: Int64(0) as! T)
        case is Int32.Type: return Described(schema: .integer, value: Int32(0) as! T)
        case is Int16.Type: return Described(schema: .integer, value: Int16(0) as! T)
        case is Int8.Type: return Described(schema: .integer, value: Int8(0) as! T)
        case is UInt32.Type: return Described(schema: .integer, value: UInt32(0) as! T)
        case is UInt16.Type: return Described(schema: .integer, value: UInt16(0) as! T)
        case is UInt8.Type: return Described(schema: .integer, value: UInt8(0) as! T)
        case is UInt.Type: return Described(schema: .integer, value: UInt(0) as! T)
        case is UInt64.Type: return Described(schema: .integer, value: UInt64(0) as! T)
        case is Double.Type: return Described(schema: .number, value: 0.0 as! T)
        case is Float.Type: return Described(schema: .number, value: Float(0) as! T)
        case is Decimal.Type: return Described(schema: .number, value: Decimal(0) as! T)
        case is UUID.Type: return Described(schema: .string(format: "uuid"), value: UUID() as! T)
        case is URL.Type:
            return Described(schema: .string(format: "uri"), value: URL(string: "https://example.com")! as! T)
        default: break
        }
        if let enumeration = T.self as? any (CaseIterable & RawRepresentable<String>).Type {
            let (values, first) = enumerationCases(enumeration)
            return Described(schema: .enumeration(values), value: first as! T)
        }
        if let optional = T.self as? any SchemaOptional.Type {
            let wrapped = try erasedSchema(of: optional.wrappedType, codingPath: codingPath)
            return Described(schema: .nullable(wrapped), value: try placeholder(type))
        }
        if let sequence = T.self as? any SchemaSequence.Type {
            let element = try erasedSchema(of: sequence.elementType, codingPath: codingPath)
            return Described(schema: .array(element), value: try placeholder(type))
        }
        if let map = T.self as? any SchemaMap.Type {
            let value = try erasedSchema(of: map.valueType, codingPath: codingPath)
            return Described(
                schema: .object(properties: [:], required: [], additional: value), value: try placeholder(type))
        }
        let recorder = Recorder()
        let value = try T(from: ProbeDecoder(recorder: recorder, codingPath: codingPath))
        return Described(schema: recorder.schema, value: value)
    }

    /// The schema of a type known only at run time (an element, a wrapped or a catalogued type).
    static func erasedSchema(of type: any Decodable.Type, codingPath: [any CodingKey] = []) throws -> ContractSchema {
        func open<T: Decodable>(_ type: T.Type) throws -> ContractSchema {
            try schema(of: type, codingPath: codingPath).schema
        }
        return try open(type)
    }

    private static func placeholder<T>(_ type: T.Type) throws -> T {
        if let empty = T.self as? any SchemaProbeEmpty.Type, let value = empty.probeEmpty as? T { return value }
        if T.self == Date.self { return Date(timeIntervalSince1970: 0) as! T }
        if T.self == JSONValue.self { return JSONValue.null as! T }
        throw Unsupported(description: "the schema probe cannot make a value of \(T.self)")
    }

    /// What the decoder was asked, for one value.
    final class Recorder {
        var properties: [String: ContractSchema] = [:]
        var required: Set<String> = []
        var single: ContractSchema?
        var items: ContractSchema?

        var schema: ContractSchema {
            if let single { return single }
            if let items { return .array(items) }
            return .object(properties: properties, required: required, additional: nil)
        }
    }

    struct ProbeDecoder: Decoder {
        let recorder: Recorder
        var codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            KeyedDecodingContainer(Keyed<Key>(recorder: recorder, codingPath: codingPath))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            Unkeyed(recorder: recorder, codingPath: codingPath)
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer {
            Single(recorder: recorder, codingPath: codingPath)
        }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let recorder: Recorder
        var codingPath: [any CodingKey]
        var allKeys: [Key] { [] }

        func contains(_ key: Key) -> Bool { true }
        func decodeNil(forKey key: Key) throws -> Bool { false }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let described = try SchemaProbe.schema(of: type, codingPath: codingPath + [key])
            recorder.properties[key.stringValue] = described.schema
            recorder.required.insert(key.stringValue)
            return described.value
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try optional(type, key) }

        // The standard library's own versions of these would call `decode`, which records the key as
        // required: every one must come here.
        func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try optional(type, key) }
        func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try optional(type, key) }
        func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try optional(type, key) }
        func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try optional(type, key) }
        func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optional(type, key) }
        func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try optional(type, key) }
        func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try optional(type, key) }
        func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try optional(type, key) }
        func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try optional(type, key) }
        func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try optional(type, key) }
        func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try optional(type, key) }
        func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try optional(type, key) }
        func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try optional(type, key) }
        func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try optional(type, key) }

        private func optional<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
            // Absent values are written as explicit nulls (or left out): either way, optional.
            let described = try SchemaProbe.schema(of: type, codingPath: codingPath + [key])
            recorder.properties[key.stringValue] = .nullable(described.schema)
            return described.value
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            throw Unsupported(description: "nested containers are not described (\(key.stringValue))")
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw Unsupported(description: "nested containers are not described (\(key.stringValue))")
        }

        func superDecoder() throws -> any Decoder { ProbeDecoder(recorder: recorder, codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder {
            ProbeDecoder(recorder: recorder, codingPath: codingPath)
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let recorder: Recorder
        var codingPath: [any CodingKey]
        var count: Int? { 0 }
        var isAtEnd: Bool { true }
        var currentIndex: Int { 0 }

        mutating func decodeNil() throws -> Bool { false }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let described = try SchemaProbe.schema(of: type, codingPath: codingPath)
            recorder.items = described.schema
            return described.value
        }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            throw Unsupported(description: "nested containers are not described")
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            throw Unsupported(description: "nested containers are not described")
        }
        mutating func superDecoder() throws -> any Decoder { ProbeDecoder(recorder: recorder, codingPath: codingPath) }
    }

    struct Single: SingleValueDecodingContainer {
        let recorder: Recorder
        var codingPath: [any CodingKey]

        func decodeNil() -> Bool { false }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let described = try SchemaProbe.schema(of: type, codingPath: codingPath)
            recorder.single = described.schema
            return described.value
        }
    }
}
