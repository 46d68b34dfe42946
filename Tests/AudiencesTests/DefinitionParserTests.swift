import Contracts
import Testing

@testable import AudiencesCore

@Suite struct DefinitionParserTests {
    func parse(_ json: JSONValue) throws -> Condition { try DefinitionParser.condition(json) }

    func error(_ json: JSONValue) -> String? {
        do {
            _ = try DefinitionParser.condition(json)
            return nil
        } catch { return error.description }
    }

    @Test func readsANestedTree() throws {
        let condition = try parse([
            "type": "and",
            "conditions": [
                [
                    "type": "event", "event": "Product Viewed", "count": ["operator": "at_least", "value": 3],
                    "window": ["within": ["value": 7, "unit": "days"]],
                    "where": [["property": "category", "operator": "in", "value": ["shoes", "hats"]]],
                ],
                ["type": "not", "condition": ["type": "event", "event": "Order Completed"]],
                [
                    "type": "or",
                    "conditions": [
                        ["type": "trait", "trait": "plan", "operator": "equals", "value": "pro"],
                        ["type": "audience", "audience": "vip"],
                    ],
                ],
            ],
        ])
        #expect(condition.eventConditions.map(\.name) == ["Product Viewed", "Order Completed"])
        #expect(condition.eventConditions.map(\.path) == ["0.0", "0.1.0"])
        #expect(condition.eventConditions[0].window == .within(seconds: 7 * 86_400))
        #expect(condition.eventConditions[0].hitsNeeded == 3)
        #expect(condition.audienceKeys == ["vip"])
        #expect(condition.traitKeys == ["plan"])
    }

    @Test func namesThePathOfTheFirstProblem() {
        #expect(
            error([
                "type": "and",
                "conditions": [["type": "event", "event": "A", "count": ["operator": "at_least", "value": -1]]],
            ])
                == "definition.conditions[0].count.value: must be a whole number from 0 to 1000")
        #expect(error(["type": "or", "conditions": []]) == "definition.conditions: must not be empty")
        #expect(
            error(["type": "trait", "trait": "age", "operator": "greater_than", "value": "old"])
                == "definition.value: greater_than needs a number")
        #expect(
            error(["type": "event", "event": "A", "window": ["within": ["value": 3, "unit": "weeks"]]])
                == "definition.window.within.unit: must be minutes, hours or days")
        #expect(
            error(["type": "subscription", "channel": "SMS", "group": "News", "status": "subscribed"])
                == "definition.group: groups exist on EMAIL only")
        #expect(error(["type": "bogus"])?.hasPrefix("definition.type: unknown condition type \"bogus\"") == true)
        #expect(
            error(["type": "trait", "trait": "x", "operator": "matches", "value": "y"])?.hasPrefix(
                "definition.operator: unknown operator") == true)
    }

    @Test func acceptsUnknownEventsTraitsAndAudiences() throws {
        _ = try parse([
            "type": "and",
            "conditions": [
                ["type": "event", "event": "Never Sent Yet"],
                ["type": "trait", "trait": "not_yet_a_trait", "operator": "exists"],
                ["type": "audience", "audience": "later"],
            ],
        ])
    }

    @Test func findsTheCycleAndItsPath() {
        let graph: [String: Set<String>] = ["a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]]
        #expect(DefinitionStore.cycle(from: "a", in: graph) == ["a", "b", "c", "a"])
        #expect(DefinitionStore.cycle(from: "d", in: graph) == nil)
        #expect(DefinitionStore.cycle(from: "x", in: ["x": ["x"]]) == ["x", "x"])
    }

    @Test func refusesMalformedComputedTraits() {
        func error(_ json: JSONValue) -> String? {
            do {
                _ = try DefinitionParser.computedTrait(json)
                return nil
            } catch { return error.description }
        }
        #expect(
            error(["type": "aggregation", "event": "Order Completed", "property": "revenue"])
                == "definition.aggregation: is required")
        #expect(
            error(["type": "first", "event": "A", "property": "p", "window": ["within": ["value": 1, "unit": "days"]]])
                == "definition.window: first takes no window (it is the first value ever seen)")
        #expect(error(["type": "event_counter", "event": "A"]) == nil)
    }
}
