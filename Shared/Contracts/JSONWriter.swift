import Foundation

/// Writes JSON text directly: the hot path's counterpart of `JSONParser`. Output decodes with any
/// JSON reader, and with this module's Codable types.
public struct JSONWriter {
    public internal(set) var bytes: [UInt8] = []

    public init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func write(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): raw(flag ? "true" : "false")
        case .number(let number): write(number)
        case .largeInteger(let integer): raw(integer.description)
        case .string(let text): write(text)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                write(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            write(members)
        }
    }

    /// In the dictionary's order: sorting the members of every object of arbitrary JSON (traits,
    /// properties, context) would cost the hot paths a few percent, and no reader needs it.
    public mutating func write(_ members: [String: JSONValue]) {
        bytes.append(UInt8(ascii: "{"))
        var first = true
        for (key, value) in members {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            write(key)
            bytes.append(UInt8(ascii: ":"))
            write(value)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func write(_ number: Double) {
        if let integer = JSONValue.exactInteger(number) {
            raw(String(integer))
        } else if let large = LargeInteger(exactly: number) {
            raw(large.description)  // an integer's digits, not 1e+20
        } else {
            raw(number.isFinite ? "\(number)" : "null")
        }
    }

    public mutating func write(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                raw("\\u00")
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func write(_ date: Date) {
        bytes.append(UInt8(ascii: "\""))
        Timestamp.append(date, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends text that is already JSON.
    public mutating func raw(_ json: String) {
        bytes.append(contentsOf: json.utf8)
    }

    /// An object whose members are written in order; `nil` values are left out, as Codable does.
    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        var members = ObjectWriter(writer: self)
        self = JSONWriter(capacity: 0)  // `members` owns the buffer while it writes: no copy
        body(&members)
        self = members.writer
        bytes.append(UInt8(ascii: "}"))
    }

    public struct ObjectWriter {
        var writer: JSONWriter
        var first = true

        mutating func key(_ key: String) {
            if !first { writer.bytes.append(UInt8(ascii: ",")) }
            first = false
            writer.write(key)
            writer.bytes.append(UInt8(ascii: ":"))
        }

        public mutating func member(_ key: String, _ value: String?) {
            guard let value else { return }
            self.key(key)
            writer.write(value)
        }

        public mutating func member(_ key: String, _ value: Date?) {
            guard let value else { return }
            self.key(key)
            writer.write(value)
        }

        public mutating func member(_ key: String, _ value: Int) {
            self.key(key)
            writer.raw(String(value))
        }

        public mutating func member(_ key: String, _ value: [String: JSONValue]?) {
            guard let value else { return }
            self.key(key)
            writer.write(value)
        }

        public mutating func member(_ key: String, _ value: Int64) {
            self.key(key)
            writer.raw(String(value))
        }

        public mutating func member(_ key: String, _ value: Bool) {
            self.key(key)
            writer.raw(value ? "true" : "false")
        }

        /// A member written as `null` when absent (where readers expect every key).
        public mutating func member(_ key: String, orNull value: String?) {
            self.key(key)
            if let value { writer.write(value) } else { writer.raw("null") }
        }

        public mutating func member(_ key: String, _ values: [String]?) {
            guard let values else { return }
            self.key(key)
            writer.write(JSONValue.array(values.map(JSONValue.string)))
        }

        /// A nested object; `nil` writes `null` when `orNull`, else nothing.
        public mutating func member<T>(
            _ key: String, _ value: T?, orNull: Bool = false, object body: (inout ObjectWriter, T) -> Void
        ) {
            guard let value else {
                if orNull {
                    self.key(key)
                    writer.raw("null")
                }
                return
            }
            self.key(key)
            writer.object { body(&$0, value) }
        }

        /// An array of objects.
        public mutating func member<T>(_ key: String, array values: [T], each body: (inout ObjectWriter, T) -> Void) {
            self.key(key)
            writer.bytes.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { writer.bytes.append(UInt8(ascii: ",")) }
                writer.object { body(&$0, value) }
            }
            writer.bytes.append(UInt8(ascii: "]"))
        }

        /// A member whose value is already JSON text.
        public mutating func member(_ key: String, json: String) {
            self.key(key)
            writer.raw(json)
        }
    }
}

extension JSONValue {
    /// This value as JSON text.
    public var json: String {
        var writer = JSONWriter(capacity: 64)
        writer.write(self)
        return writer.string
    }
}
