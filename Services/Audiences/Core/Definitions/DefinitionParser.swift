import Contracts
import Foundation

/// Reads condition trees and computed-trait definitions from JSON. Unknown event names, traits
/// and audience keys are accepted (the data may arrive later); a tree that cannot mean anything
/// is refused with the path of the first problem.
public enum DefinitionParser {
    public static let maxDepth = 16
    public static let maxNodes = 200
    public static let maxCount = 1_000

    public static func condition(_ json: JSONValue, path: String = "definition") throws(DefinitionError) -> Condition {
        var nodes = 0
        return try condition(json, path: path, position: "0", depth: 0, nodes: &nodes)
    }

    private static func condition(_ json: JSONValue, path: String, position: String, depth: Int, nodes: inout Int)
        throws(DefinitionError) -> Condition
    {
        nodes += 1
        guard nodes <= maxNodes else {
            throw DefinitionError(path: path, reason: "a definition has at most \(maxNodes) conditions")
        }
        guard depth < maxDepth else {
            throw DefinitionError(path: path, reason: "conditions nest at most \(maxDepth) deep")
        }
        guard case .object(let object) = json else {
            throw DefinitionError(path: path, reason: "must be an object with a \"type\"")
        }
        let type = try DefinitionReader.string(object, "type", path)
        func children() throws(DefinitionError) -> [Condition] {
            guard case .array(let items)? = object["conditions"] else {
                throw DefinitionError(path: "\(path).conditions", reason: "\(type) needs an array of conditions")
            }
            guard !items.isEmpty else { throw DefinitionError(path: "\(path).conditions", reason: "must not be empty") }
            var result: [Condition] = []
            for (index, item) in items.enumerated() {
                result.append(
                    try condition(
                        item, path: "\(path).conditions[\(index)]", position: "\(position).\(index)", depth: depth + 1,
                        nodes: &nodes))
            }
            return result
        }
        switch type {
        case "and": return .and(try children())
        case "or": return .or(try children())
        case "not":
            guard let child = object["condition"] else {
                throw DefinitionError(path: "\(path).condition", reason: "not needs one condition")
            }
            return .not(
                try condition(
                    child, path: "\(path).condition", position: "\(position).0", depth: depth + 1, nodes: &nodes))
        case "event": return .event(try event(object, path: path, position: position))
        case "trait":
            return .trait(
                key: try DefinitionReader.string(object, "trait", path), try DefinitionReader.comparison(object, path))
        case "computed_trait":
            return .computedTrait(
                key: try DefinitionReader.string(object, "trait", path), try DefinitionReader.comparison(object, path))
        case "audience": return .audience(key: try DefinitionReader.string(object, "audience", path))
        case "subscription": return .subscription(try subscription(object, path))
        default:
            throw DefinitionError(
                path: "\(path).type",
                reason:
                    "unknown condition type \"\(type)\" (expected and, or, not, event, trait, computed_trait, audience or subscription)"
            )
        }
    }

    static func event(_ object: [String: JSONValue], path: String, position: String) throws(DefinitionError)
        -> EventCondition
    {
        let name = try DefinitionReader.string(object, "event", path)
        var count = CountComparison.atLeast(1)
        if let countJSON = object["count"] {
            guard case .object(let countObject) = countJSON else {
                throw DefinitionError(path: "\(path).count", reason: "must be an object with operator and value")
            }
            let op = try DefinitionReader.string(countObject, "operator", "\(path).count")
            guard case .number(let number)? = countObject["value"], number >= 0, number.rounded() == number,
                number <= Double(maxCount)
            else {
                throw DefinitionError(
                    path: "\(path).count.value", reason: "must be a whole number from 0 to \(maxCount)")
            }
            switch op {
            case "at_least": count = .atLeast(Int(number))
            case "at_most": count = .atMost(Int(number))
            case "exactly": count = .exactly(Int(number))
            default:
                throw DefinitionError(path: "\(path).count.operator", reason: "must be at_least, at_most or exactly")
            }
        }
        return EventCondition(
            name: name, filters: try DefinitionReader.filters(object["where"], "\(path).where"), count: count,
            window: try window(object["window"], "\(path).window"), path: position)
    }

    static func window(_ json: JSONValue?, _ path: String) throws(DefinitionError) -> Window? {
        guard let json else { return nil }
        guard case .object(let object) = json else {
            throw DefinitionError(path: path, reason: "must be an object with within or between")
        }
        if case .object(let within)? = object["within"] {
            guard case .number(let amount)? = within["value"], amount > 0, amount.rounded() == amount else {
                throw DefinitionError(path: "\(path).within.value", reason: "must be a whole number above 0")
            }
            let unit = try DefinitionReader.string(within, "unit", "\(path).within")
            let seconds: Double
            switch unit {
            case "minutes": seconds = 60
            case "hours": seconds = 3_600
            case "days": seconds = 86_400
            default: throw DefinitionError(path: "\(path).within.unit", reason: "must be minutes, hours or days")
            }
            guard amount * seconds <= 3_650 * 86_400 else {
                throw DefinitionError(path: "\(path).within", reason: "is longer than 10 years")
            }
            return .within(seconds: amount * seconds)
        }
        if case .object(let between)? = object["between"] {
            let from = try DefinitionReader.date(between, "from", "\(path).between")
            let to = try DefinitionReader.date(between, "to", "\(path).between")
            guard from <= to else { throw DefinitionError(path: "\(path).between", reason: "from is after to") }
            return .between(from: from, to: to)
        }
        throw DefinitionError(path: path, reason: "must have within {value, unit} or between {from, to}")
    }

    static func subscription(_ object: [String: JSONValue], _ path: String) throws(DefinitionError)
        -> SubscriptionCondition
    {
        let channelText = try DefinitionReader.string(object, "channel", path)
        guard let channel = SubscriptionChannel(loose: channelText) else {
            throw DefinitionError(path: "\(path).channel", reason: "must be EMAIL, SMS or WHATSAPP")
        }
        let group = try DefinitionReader.optionalString(object, "group", path)
        if group != nil && channel != .email {
            throw DefinitionError(path: "\(path).group", reason: "groups exist on EMAIL only")
        }
        let statusText = try DefinitionReader.string(object, "status", path)
        var status: SubscriptionStatus?
        if statusText.lowercased() != "no_status" {
            guard let parsed = SubscriptionStatus(loose: statusText) else {
                throw DefinitionError(
                    path: "\(path).status", reason: "must be subscribed, unsubscribed, did_not_subscribe or no_status")
            }
            status = parsed
        }
        return SubscriptionCondition(channel: channel, group: group, status: status)
    }

    // MARK: computed traits

    public static func computedTrait(_ json: JSONValue, path: String = "definition") throws(DefinitionError)
        -> ComputedTraitDefinition
    {
        guard case .object(let object) = json else {
            throw DefinitionError(path: path, reason: "must be an object with a \"type\"")
        }
        let typeText = try DefinitionReader.string(object, "type", path)
        guard let kind = ComputedTraitDefinition.Kind(rawValue: typeText) else {
            throw DefinitionError(
                path: "\(path).type",
                reason:
                    "unknown computed trait type \"\(typeText)\" (expected \(ComputedTraitDefinition.Kind.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        let event = try DefinitionReader.string(object, "event", path)
        var property: String?
        if kind != .eventCounter { property = try DefinitionReader.string(object, "property", path) }
        var aggregation: ComputedTraitDefinition.Aggregation?
        if kind == .aggregation {
            let text = try DefinitionReader.string(object, "aggregation", path)
            guard let parsed = ComputedTraitDefinition.Aggregation(rawValue: text) else {
                throw DefinitionError(path: "\(path).aggregation", reason: "must be sum, min, max or average")
            }
            aggregation = parsed
        }
        let window = try window(object["window"], "\(path).window")
        if window != nil && (kind == .first) {
            throw DefinitionError(
                path: "\(path).window", reason: "first takes no window (it is the first value ever seen)")
        }
        return ComputedTraitDefinition(
            kind: kind, event: event, filters: try DefinitionReader.filters(object["where"], "\(path).where"),
            property: property, aggregation: aggregation, window: window)
    }
}
