/// Equality and hashing by value: numbers compare numerically, so `1 == 1.0` (both Doubles) and a
/// computed `.number(1e20)` equals the `.largeInteger` that the same value reads back as from JSON
/// or Postgres (which change detection and audience state compare against).
extension JSONValue: Hashable {
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.largeInteger(let a), .largeInteger(let b)): a == b
        case (.number(let a), .largeInteger(let b)), (.largeInteger(let b), .number(let a)):
            LargeInteger(exactly: a) == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0 as UInt8)
        case .bool(let value):
            hasher.combine(1 as UInt8)
            hasher.combine(value)
        case .number(let value):
            // A Double holding a large integer hashes as that integer (it is equal to it).
            if let large = LargeInteger(exactly: value) {
                hasher.combine(2 as UInt8)
                hasher.combine(large)
            } else {
                hasher.combine(3 as UInt8)
                hasher.combine(value)
            }
        case .largeInteger(let value):
            hasher.combine(2 as UInt8)
            hasher.combine(value)
        case .string(let value):
            hasher.combine(4 as UInt8)
            hasher.combine(value)
        case .array(let value):
            hasher.combine(5 as UInt8)
            hasher.combine(value)
        case .object(let value):
            hasher.combine(6 as UInt8)
            hasher.combine(value)
        }
    }
}
