import Foundation

/// A type whose absent (nil) members are written as `null` rather than left out: downstream tools
/// in any language read every key. Decoding is unchanged (null and absent both read as nil).
public protocol EncodesAbsentAsNull {
    /// Members that are still left out when absent (e.g. ones that only apply to some records).
    static var membersOmittedWhenAbsent: Set<String> { get }
}

extension EncodesAbsentAsNull {
    public static var membersOmittedWhenAbsent: Set<String> { [] }
}

/// The platform's JSON encoding, the one for everything it puts on the wire, in tables and in HTTP
/// answers: a type's Codable conformance written straight to JSON text (no intermediate tree, no
/// `Any`), members in their declaration order, the keys of typed dictionaries sorted (arbitrary
/// JSON, `JSONValue`, keeps its dictionary's order), dates as ISO-8601 with milliseconds
/// (`Timestamp.format`). Decoding is `WireDecoder`.
public enum WireEncoder {
    public static func encode<T: Encodable>(_ value: T, capacity: Int = 256) throws -> [UInt8] {
        try encode(value, capturing: nil, capacity: capacity).json
    }

    public static func string<T: Encodable>(_ value: T, capacity: Int = 256) throws -> String {
        String(decoding: try encode(value, capacity: capacity), as: UTF8.self)
    }

    /// The JSON of a value and where in it one of its top-level members' value is: a caller that
    /// needs both the whole (an event) and that part (the message it carries) encodes once.
    public static func encode<T: Encodable>(_ value: T, capturingMember name: String, capacity: Int = 256) throws
        -> (json: [UInt8], member: Range<Int>?)
    {
        try encode(value, capturing: name, capacity: capacity)
    }

    private static func encode<T: Encodable>(_ value: T, capturing name: String?, capacity: Int) throws
        -> (json: [UInt8], member: Range<Int>?)
    {
        let state = WireEncodingState(capacity: capacity)
        state.capturedMember = name
        try state.encodeValue(value, depth: 0)
        state.close(to: 0)
        guard !state.writer.bytes.isEmpty else {
            throw EncodingError.invalidValue(
                value, EncodingError.Context(codingPath: [], debugDescription: "\(T.self) encoded no value"))
        }
        return (state.writer.bytes, state.captured)
    }
}

/// A dictionary with string keys, written with sorted keys (the same value, the same text).
protocol StringKeyedEncodable {
    func encodeMembers(into state: WireEncodingState, depth: Int) throws
}

extension Dictionary: StringKeyedEncodable where Key == String, Value: Encodable {
    func encodeMembers(into state: WireEncodingState, depth: Int) throws {
        state.open(UInt8(ascii: "{"), closer: UInt8(ascii: "}"))
        for key in keys.sorted() {
            state.key(key, frame: depth)
            try state.encodeValue(self[key]!, depth: depth + 1)
        }
        state.close(to: depth)
    }
}

/// The text being written and the containers open in it. Containers are closed lazily: Codable
/// says when a container starts but not when it ends, so a container is closed when something is
/// written to one of its ancestors, or when the value that opened it has been encoded.
///
/// One state serves one `encode` call, on one task, with no overlapping accesses: its stored
/// properties skip the run-time exclusivity checks that would otherwise guard every byte written.
final class WireEncodingState {
    @exclusivity(unchecked) var writer: JSONWriter
    /// The closing byte of each open container, outermost first.
    @exclusivity(unchecked) private var closers: [UInt8] = []
    /// Whether each open container has a member yet (a comma goes before the next).
    @exclusivity(unchecked) private var hasMembers: [Bool] = []
    /// A top-level member whose value's bytes to note (`WireEncoder.encode(_:capturingMember:)`).
    var capturedMember: String?
    var captured: Range<Int>?

    init(capacity: Int) {
        writer = JSONWriter(capacity: capacity)
        closers.reserveCapacity(8)
        hasMembers.reserveCapacity(8)
    }

    func isOpenObject(at frame: Int) -> Bool { closers.count > frame && closers[frame] == UInt8(ascii: "}") }

    func open(_ opener: UInt8, closer: UInt8) {
        writer.bytes.append(opener)
        closers.append(closer)
        hasMembers.append(false)
    }

    func close(to depth: Int) {
        while closers.count > depth {
            writer.bytes.append(closers.removeLast())
            hasMembers.removeLast()
        }
    }

    /// Ready for the next element of the container at `frame`: deeper ones closed, comma written.
    func element(frame: Int) {
        close(to: frame + 1)
        if hasMembers[frame] {
            writer.bytes.append(UInt8(ascii: ","))
        } else {
            hasMembers[frame] = true
        }
    }

    func key(_ key: String, frame: Int) {
        element(frame: frame)
        writer.write(key)
        writer.bytes.append(UInt8(ascii: ":"))
    }

    /// Looked up once: a generic type's metadata is otherwise fetched from the runtime at each use.
    private static let objectType: Any.Type = [String: JSONValue].self

    /// Writes one value whose containers, if it opens any, start at `depth`.
    func encodeValue<T: Encodable>(_ value: T, depth: Int) throws {
        // The common leaf types first, by type identity (no dynamic casts).
        if T.self == String.self {
            writer.write(unsafeBitCast(value, to: String.self))
        } else if T.self == Date.self {
            writer.write(unsafeBitCast(value, to: Date.self))
        } else if T.self == JSONValue.self {
            writer.write(unsafeBitCast(value, to: JSONValue.self))
        } else if T.self == Self.objectType {
            writer.write(unsafeBitCast(value, to: [String: JSONValue].self))
        } else if T.self is any StringKeyedEncodable.Type {  // a metatype check: no copy of the value
            try (value as! any StringKeyedEncodable).encodeMembers(into: self, depth: depth)
        } else {
            let nulls = (T.self as? any EncodesAbsentAsNull.Type).map { $0.membersOmittedWhenAbsent }
            try value.encode(to: WireValueEncoder(state: self, depth: depth, absentAsNull: nulls))
            close(to: depth)
        }
    }

    func write(_ value: Bool) { writer.raw(value ? "true" : "false") }
    func write<I: FixedWidthInteger>(integer value: I) { writer.raw(String(value)) }
    func write(_ value: Double) { writer.write(value) }
    func write(_ value: Float) { writer.raw(value.isFinite ? "\(value)" : "null") }
    func writeNull() { writer.raw("null") }
}

/// The encoder of one value: its containers open at `depth`.
struct WireValueEncoder: Encoder {
    let state: WireEncodingState
    let depth: Int
    /// Set for an `EncodesAbsentAsNull` type: the members still left out when absent.
    let absentAsNull: Set<String>?

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        // A type may encode part of itself (or another value) into its own object, then the rest:
        // a second request continues the same object.
        if state.isOpenObject(at: depth) {
            state.close(to: depth + 1)
        } else {
            state.close(to: depth)
            state.open(UInt8(ascii: "{"), closer: UInt8(ascii: "}"))
        }
        return KeyedEncodingContainer(WireKeyedEncoder<Key>(state: state, frame: depth, absentAsNull: absentAsNull))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        state.close(to: depth)
        state.open(UInt8(ascii: "["), closer: UInt8(ascii: "]"))
        return WireUnkeyedEncoder(state: state, frame: depth)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        WireSingleValueEncoder(state: state, depth: depth)
    }
}

struct WireKeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: WireEncodingState
    /// The index of this object among the open containers.
    let frame: Int
    let absentAsNull: Set<String>?

    var codingPath: [any CodingKey] { [] }

    private func key(_ key: Key) { state.key(key.stringValue, frame: frame) }

    mutating func encodeNil(forKey key: Key) throws {
        self.key(key)
        state.writeNull()
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        self.key(key)
        state.write(value)
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        self.key(key)
        state.writer.write(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        self.key(key)
        state.write(value)
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        self.key(key)
        state.write(value)
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try integer(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try integer(value, key) }

    private func integer<I: FixedWidthInteger>(_ value: I, _ key: Key) throws {
        self.key(key)
        state.write(integer: value)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        self.key(key)
        guard frame == 0, let captured = state.capturedMember, captured == key.stringValue else {
            return try state.encodeValue(value, depth: frame + 1)
        }
        let start = state.writer.bytes.count
        try state.encodeValue(value, depth: frame + 1)
        state.close(to: frame + 1)
        state.captured = start..<state.writer.bytes.count
    }

    // Absent members: left out, or `null` for an `EncodesAbsentAsNull` type. Every overload is
    // here because the synthesized conformances call the one for the member's type.
    private mutating func absent(_ key: Key) throws {
        if let omitted = absentAsNull, !omitted.contains(key.stringValue) { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try absent(key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        self.key(key)
        state.open(UInt8(ascii: "{"), closer: UInt8(ascii: "}"))
        return KeyedEncodingContainer(WireKeyedEncoder<NestedKey>(state: state, frame: frame + 1, absentAsNull: nil))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        self.key(key)
        state.open(UInt8(ascii: "["), closer: UInt8(ascii: "]"))
        return WireUnkeyedEncoder(state: state, frame: frame + 1)
    }

    mutating func superEncoder() -> any Encoder {
        state.key("super", frame: frame)
        return WireValueEncoder(state: state, depth: frame + 1, absentAsNull: nil)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        self.key(key)
        return WireValueEncoder(state: state, depth: frame + 1, absentAsNull: nil)
    }
}

struct WireUnkeyedEncoder: UnkeyedEncodingContainer {
    let state: WireEncodingState
    let frame: Int
    private(set) var count = 0

    init(state: WireEncodingState, frame: Int) {
        self.state = state
        self.frame = frame
    }

    var codingPath: [any CodingKey] { [] }

    private mutating func element() {
        state.element(frame: frame)
        count += 1
    }

    mutating func encodeNil() throws {
        element()
        state.writeNull()
    }
    mutating func encode(_ value: Bool) throws {
        element()
        state.write(value)
    }
    mutating func encode(_ value: String) throws {
        element()
        state.writer.write(value)
    }
    mutating func encode(_ value: Double) throws {
        element()
        state.write(value)
    }
    mutating func encode(_ value: Float) throws {
        element()
        state.write(value)
    }
    mutating func encode(_ value: Int) throws { integer(value) }
    mutating func encode(_ value: Int8) throws { integer(value) }
    mutating func encode(_ value: Int16) throws { integer(value) }
    mutating func encode(_ value: Int32) throws { integer(value) }
    mutating func encode(_ value: Int64) throws { integer(value) }
    mutating func encode(_ value: UInt) throws { integer(value) }
    mutating func encode(_ value: UInt8) throws { integer(value) }
    mutating func encode(_ value: UInt16) throws { integer(value) }
    mutating func encode(_ value: UInt32) throws { integer(value) }
    mutating func encode(_ value: UInt64) throws { integer(value) }

    private mutating func integer<I: FixedWidthInteger>(_ value: I) {
        element()
        state.write(integer: value)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        element()
        try state.encodeValue(value, depth: frame + 1)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        element()
        state.open(UInt8(ascii: "{"), closer: UInt8(ascii: "}"))
        return KeyedEncodingContainer(WireKeyedEncoder<NestedKey>(state: state, frame: frame + 1, absentAsNull: nil))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        element()
        state.open(UInt8(ascii: "["), closer: UInt8(ascii: "]"))
        return WireUnkeyedEncoder(state: state, frame: frame + 1)
    }

    mutating func superEncoder() -> any Encoder {
        element()
        return WireValueEncoder(state: state, depth: frame + 1, absentAsNull: nil)
    }
}

struct WireSingleValueEncoder: SingleValueEncodingContainer {
    let state: WireEncodingState
    let depth: Int

    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { state.writeNull() }
    mutating func encode(_ value: Bool) throws { state.write(value) }
    mutating func encode(_ value: String) throws { state.writer.write(value) }
    mutating func encode(_ value: Double) throws { state.write(value) }
    mutating func encode(_ value: Float) throws { state.write(value) }
    mutating func encode(_ value: Int) throws { state.write(integer: value) }
    mutating func encode(_ value: Int8) throws { state.write(integer: value) }
    mutating func encode(_ value: Int16) throws { state.write(integer: value) }
    mutating func encode(_ value: Int32) throws { state.write(integer: value) }
    mutating func encode(_ value: Int64) throws { state.write(integer: value) }
    mutating func encode(_ value: UInt) throws { state.write(integer: value) }
    mutating func encode(_ value: UInt8) throws { state.write(integer: value) }
    mutating func encode(_ value: UInt16) throws { state.write(integer: value) }
    mutating func encode(_ value: UInt32) throws { state.write(integer: value) }
    mutating func encode(_ value: UInt64) throws { state.write(integer: value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try state.encodeValue(value, depth: depth) }
}
