import Foundation

/// The platform's JSON decoding: `JSONParser`'s tree read through a type's Codable conformance.
/// Dates are ISO-8601 (`Timestamp.parse`); errors are `DecodingError`s naming the member's path,
/// as `DecodingErrorDescription` words them for an HTTP 400 or a dead letter.
public enum WireDecoder {
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: [], debugDescription: "not valid JSON: \(error)", underlyingError: error))
        }
        return try decode(type, from: value)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try WireValueDecoder.decodeValue(T.self, from: value, path: [])
    }
}

/// The decoder of one value of the tree.
struct WireValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw Self.mismatch([String: JSONValue].self, value, codingPath)
        }
        return KeyedDecodingContainer(WireKeyedDecoder<Key>(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw Self.mismatch([JSONValue].self, value, codingPath) }
        return WireUnkeyedDecoder(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        WireSingleValueDecoder(value: value, codingPath: codingPath)
    }

    // MARK: reading values

    /// Looked up once: a generic type's metadata is otherwise fetched from the runtime at each use.
    private static let objectType: Any.Type = [String: JSONValue].self

    /// `path` is evaluated only for an error or a nested decoder: most members need neither.
    static func decodeValue<T: Decodable>(
        _ type: T.Type, from value: JSONValue, path: @autoclosure () -> [any CodingKey]
    ) throws -> T {
        if T.self == String.self {
            return unsafeBitCast(try string(value, path()), to: T.self)
        } else if T.self == Date.self {
            let text = try string(value, path())
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorrupted(
                    DecodingError.Context(codingPath: path(), debugDescription: "not an ISO-8601 timestamp: \(text)"))
            }
            return unsafeBitCast(date, to: T.self)
        } else if T.self == JSONValue.self {
            return unsafeBitCast(value, to: T.self)
        } else if T.self == objectType {
            guard case .object(let members) = value else { throw mismatch(T.self, value, path()) }
            return unsafeBitCast(members, to: T.self)
        }
        return try T(from: WireValueDecoder(value: value, codingPath: path()))
    }

    static func string(_ value: JSONValue, _ path: @autoclosure () -> [any CodingKey]) throws -> String {
        guard case .string(let text) = value else { throw mismatch(String.self, value, path()) }
        return text
    }

    static func bool(_ value: JSONValue, _ path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch(Bool.self, value, path()) }
        return flag
    }

    static func double(_ value: JSONValue, _ path: @autoclosure () -> [any CodingKey]) throws -> Double {
        switch value {
        case .number(let number): return number
        case .largeInteger(let integer): return integer.doubleValue
        default: throw mismatch(Double.self, value, path())
        }
    }

    static func integer<I: FixedWidthInteger>(
        _ type: I.Type, _ value: JSONValue, _ path: @autoclosure () -> [any CodingKey]
    ) throws -> I {
        let number: Double
        switch value {
        case .number(let value): number = value
        case .largeInteger(let integer):
            guard let exact = I(integer.description) else { throw tooLarge(I.self, integer.description, path()) }
            return exact
        default: throw mismatch(I.self, value, path())
        }
        guard let exact = I(exactly: number) else {
            throw number.rounded() == number
                ? tooLarge(I.self, JSONValue.number(number).json, path())
                : DecodingError.dataCorrupted(
                    DecodingError.Context(
                        codingPath: path(), debugDescription: "Parsed JSON number <\(number)> is not an integer."))
        }
        return exact
    }

    static func tooLarge<I>(_ type: I.Type, _ text: String, _ path: [any CodingKey]) -> DecodingError {
        DecodingError.dataCorrupted(
            DecodingError.Context(
                codingPath: path, debugDescription: "Parsed JSON number <\(text)> does not fit in \(I.self)."))
    }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        if case .null = value {
            return DecodingError.valueNotFound(
                type,
                DecodingError.Context(
                    codingPath: path, debugDescription: "Expected \(type) value but found null instead."))
        }
        return DecodingError.typeMismatch(
            type,
            DecodingError.Context(
                codingPath: path, debugDescription: "Expected to decode \(type) but found \(kind(value)) instead."))
    }

    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number, .largeInteger: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "a dictionary"
        }
    }
}

/// A member's name in a coding path.
struct WireCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

struct WireKeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, DecodingError.Context(codingPath: codingPath, debugDescription: "No value for \(key.stringValue).")
            )
        }
        return value
    }

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try member(key) { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try WireValueDecoder.bool(member(key), path(key))
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try WireValueDecoder.string(member(key), path(key))
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try WireValueDecoder.double(member(key), path(key))
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        Float(try WireValueDecoder.double(member(key), path(key)))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(key) }

    private func integer<I: FixedWidthInteger>(_ key: Key) throws -> I {
        try WireValueDecoder.integer(I.self, member(key), path(key))
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try WireValueDecoder.decodeValue(T.self, from: member(key), path: path(key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try WireValueDecoder(value: member(key), codingPath: path(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try WireValueDecoder(value: member(key), codingPath: path(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        WireValueDecoder(
            value: members["super"] ?? .null, codingPath: codingPath + [WireCodingKey(stringValue: "super")])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        WireValueDecoder(value: members[key.stringValue] ?? .null, codingPath: path(key))
    }
}

struct WireUnkeyedDecoder: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(items: [JSONValue], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private var path: [any CodingKey] { Self.path(codingPath, currentIndex) }
    private static func path(_ codingPath: [any CodingKey], _ index: Int) -> [any CodingKey] {
        codingPath + [WireCodingKey(intValue: index)]
    }

    private mutating func next(_ type: Any.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, DecodingError.Context(codingPath: path, debugDescription: "Unkeyed container is at end."))
        }
        defer { currentIndex += 1 }
        return items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if case .null = items[currentIndex] {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        let (codingPath, index) = (self.codingPath, currentIndex)
        return try WireValueDecoder.bool(next(type), Self.path(codingPath, index))
    }
    mutating func decode(_ type: String.Type) throws -> String {
        let (codingPath, index) = (self.codingPath, currentIndex)
        return try WireValueDecoder.string(next(type), Self.path(codingPath, index))
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        let (codingPath, index) = (self.codingPath, currentIndex)
        return try WireValueDecoder.double(next(type), Self.path(codingPath, index))
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        let (codingPath, index) = (self.codingPath, currentIndex)
        return Float(try WireValueDecoder.double(next(type), Self.path(codingPath, index)))
    }
    mutating func decode(_ type: Int.Type) throws -> Int { try integer() }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try integer() }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try integer() }

    private mutating func integer<I: FixedWidthInteger>() throws -> I {
        let (codingPath, index) = (self.codingPath, currentIndex)
        return try WireValueDecoder.integer(I.self, next(I.self), Self.path(codingPath, index))
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (codingPath, index) = (self.codingPath, currentIndex)
        return try WireValueDecoder.decodeValue(T.self, from: next(type), path: Self.path(codingPath, index))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let (codingPath, index) = (self.codingPath, currentIndex)
        return try WireValueDecoder(value: next(type), codingPath: Self.path(codingPath, index)).container(
            keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (codingPath, index) = (self.codingPath, currentIndex)
        return try WireValueDecoder(value: next([JSONValue].self), codingPath: Self.path(codingPath, index))
            .unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (codingPath, index) = (self.codingPath, currentIndex)
        return WireValueDecoder(value: try next(JSONValue.self), codingPath: Self.path(codingPath, index))
    }
}

struct WireSingleValueDecoder: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }
    func decode(_ type: Bool.Type) throws -> Bool { try WireValueDecoder.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try WireValueDecoder.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try WireValueDecoder.double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try WireValueDecoder.double(value, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try WireValueDecoder.integer(type, value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try WireValueDecoder.integer(type, value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try WireValueDecoder.integer(type, value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try WireValueDecoder.integer(type, value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try WireValueDecoder.integer(type, value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try WireValueDecoder.integer(type, value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try WireValueDecoder.integer(type, value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try WireValueDecoder.integer(type, value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try WireValueDecoder.integer(type, value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try WireValueDecoder.integer(type, value, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try WireValueDecoder.decodeValue(T.self, from: value, path: codingPath)
    }
}
