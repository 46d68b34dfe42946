import Contracts
import Foundation

/// What a split looks at for one profile: its traits, its audiences, and the events it performed
/// since it entered the journey.
struct ConditionContext: Sendable {
    struct PastEvent: Sendable {
        var name: String
        var properties: [String: JSONValue]
        var occurredAt: Date
    }

    var traits: [String: JSONValue]
    var audiences: Set<String>
    var events: [PastEvent]
    var enteredAt: Date

    func holds(_ condition: SplitCondition) -> Bool {
        switch condition {
        case .all(let items): items.allSatisfy(holds)
        case .any(let items): items.contains(where: holds)
        case .not(let item): !holds(item)
        case .trait(let key, let comparison): comparison.holds(for: PropertyFilter.lookup(key, in: traits))
        case .audience(let id): audiences.contains(id)
        case .performed(let match):
            events.contains { $0.occurredAt >= enteredAt && match.matches(event: $0.name, properties: $0.properties) }
        }
    }
}
