import Contracts
import Foundation

/// Reads a message's identifiers according to a space's rules, most important first.
public struct IdentifierExtractor: Sendable {
    public var rules: [String: IdentifierRule]

    public init(rules: [IdentifierRule]) {
        self.rules = Dictionary(rules.map { ($0.type, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func rule(for type: String) -> IdentifierRule {
        rules[type] ?? .unconfigured(type)
    }

    /// The identifiers of `message`, deduplicated, blocked values removed, ordered by priority
    /// (then type and value, so the order is deterministic). `aliasPreviousType` is the type an
    /// alias's `previousId` is read as.
    public func identifiers(of message: SegmentMessage, aliasPreviousType: String = "anonymous_id") -> [Identifier] {
        var found: [Identifier] = []
        func add(_ type: String, _ value: String?) {
            guard var value, !Identifier.isBlocked(value) else { return }
            value = normalize(type: type, value: value)
            found.append(Identifier(type: type, value: value))
        }
        let traits = message.effectiveTraits
        /// email and phone: a trait or property of their own name, whatever else a space configured.
        func ownKey(_ type: String) -> String? {
            guard IdentifierRule.contactTypes.contains(type) else { return nil }
            return traits[type]?.identifierString ?? message.properties?[type]?.identifierString
        }
        for rule in rules.values {
            switch rule.source {
            case .builtIn:
                switch rule.type {
                case "user_id": add("user_id", message.userId)
                case "anonymous_id": add("anonymous_id", message.anonymousId)
                default: add(rule.type, ownKey(rule.type))
                }
            case .trait(let key):
                add(rule.type, traits[key]?.identifierString ?? ownKey(rule.type))
            case .property(let key):
                add(rule.type, message.properties?[key]?.identifierString ?? ownKey(rule.type))
            }
        }
        if message.type == .alias {
            add(aliasPreviousType, message.previousId)
        }
        for external in Self.externalIDs(of: message) where external.collection == "users" {
            add(external.type, external.id)
        }
        var seen = Set<Identifier>()
        return found.filter { seen.insert($0).inserted }.sorted(by: order)
    }

    /// Priority first (1 = most important), then type, then value.
    public func order(_ lhs: Identifier, _ rhs: Identifier) -> Bool {
        let left = rule(for: lhs.type).priority
        let right = rule(for: rhs.type).priority
        if left != right { return left < right }
        if lhs.type != rhs.type { return lhs.type < rhs.type }
        return lhs.value < rhs.value
    }

    /// Emails match whatever their case and surrounding spaces; phone numbers that can be read as
    /// E.164 are stored as such (the form subscriptions and messaging use), others as given.
    func normalize(type: String, value: String) -> String {
        let trimmed = value.trimmingWhitespace()
        switch type {
        case "email": return trimmed.lowercased()
        case "phone": return (try? ContactNormalizer.phone(trimmed)) ?? trimmed
        default: return trimmed
        }
    }

    /// `context.externalIds` entries that have all four keys (Segment requires them).
    public static func externalIDs(of message: SegmentMessage) -> [ExternalID] {
        guard let list = message.context?["externalIds"]?.arrayValue else { return [] }
        return list.compactMap { item in
            guard let object = item.objectValue, let id = object["id"]?.identifierString,
                let type = object["type"]?.stringValue, let collection = object["collection"]?.stringValue
            else { return nil }
            return ExternalID(
                type: type.lowercased(), id: id, collection: collection,
                encoding: object["encoding"]?.stringValue ?? "none")
        }
    }
}
