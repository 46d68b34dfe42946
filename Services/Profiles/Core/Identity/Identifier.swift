import Contracts
import Foundation

/// One identifier value of a profile, e.g. `email:ada@example.com`.
public struct Identifier: Hashable, Sendable, CustomStringConvertible {
    public var type: String
    public var value: String

    public init(type: String, value: String) {
        self.type = type
        self.value = value
    }

    public var description: String { "\(type):\(value)" }

    public var externalID: ExternalID { ExternalID(type: type, id: value) }

    /// Values that are never identifiers (Segment's blocked-value list, on by default here, plus
    /// `nil` and `none`): empty, `null`, `undefined`, `anonymous` in any case, `-1`, and anything
    /// made only of zeros and dashes.
    public static func isBlocked(_ value: String) -> Bool {
        // Fast path for what almost every value is: longer than any blocked word and without
        // surrounding whitespace (an ASCII first and last byte that is not a space or tab).
        let bytes = value.utf8
        if bytes.count > 9, let first = bytes.first, let last = bytes.last,
            first < 0x80, last < 0x80, first != 0x20, first != 0x09, last != 0x20, last != 0x09
        {
            return bytes.allSatisfy { $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: "-") }
        }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return true }
        switch trimmed.lowercased() {
        case "null", "undefined", "anonymous", "-1", "nil", "none": return true
        default: break
        }
        return trimmed.allSatisfy { $0 == "0" || $0 == "-" }
    }
}

/// Where a rule reads its value from a message.
public enum IdentifierSource: Sendable, Hashable {
    /// `userId`, `anonymousId`, traits/`context.traits` (or properties) `email`/`phone`: the defaults.
    case builtIn
    /// A trait key (identify traits and `context.traits`). For `email` and `phone`, read first, then
    /// their own key.
    case trait(String)
    /// A track/page/screen property key; for `email` and `phone` too, read before their own key.
    case property(String)
}

/// How a space treats one identifier type (Segment Unify's identity resolution settings).
public struct IdentifierRule: Sendable, Hashable {
    public var type: String
    /// 1 is the highest priority. When a merge would break a limit, the lowest-priority identifier
    /// on the message is dropped first.
    public var priority: Int
    /// How many values a profile may hold, counting values added within `window` when set.
    public var limit: Int
    public var window: TimeInterval?
    public var source: IdentifierSource

    public init(type: String, priority: Int, limit: Int, window: TimeInterval? = nil, source: IdentifierSource) {
        self.type = type
        self.priority = priority
        self.limit = limit
        self.window = window
        self.source = source
    }

    /// The rules a new space starts with: `user_id` 1 ever, `email` 5 ever, `anonymous_id` 5 weekly,
    /// `phone` 5 ever; priority user_id, email, then alphabetical (Segment's defaults plus phone).
    public static let defaults: [IdentifierRule] = [
        IdentifierRule(type: "user_id", priority: 1, limit: 1, source: .builtIn),
        IdentifierRule(type: "email", priority: 2, limit: 5, source: .builtIn),
        IdentifierRule(type: "anonymous_id", priority: 3, limit: 5, window: 7 * 86_400, source: .builtIn),
        IdentifierRule(type: "phone", priority: 4, limit: 5, source: .builtIn),
    ]

    /// Built-in types read from fields of the message itself, never from a trait or property key.
    public static let messageFieldTypes: Set<String> = ["user_id", "anonymous_id"]
    /// Built-in types read from a trait or property of their own name, or from a key a space configures
    /// (Engage's onboarding adds `phone` from whatever key the workspace uses, such as `phone_number`).
    public static let contactTypes: Set<String> = ["email", "phone"]

    /// An identifier type seen only in `context.externalIds`, with no rule of its own.
    public static func unconfigured(_ type: String) -> IdentifierRule {
        IdentifierRule(type: type, priority: 1_000, limit: 5, source: .builtIn)
    }
}
