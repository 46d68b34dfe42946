import Contracts
import Foundation
import Testing

@testable import AudiencesCore

@Suite struct EvaluatorTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let day = 86_400.0

    func audience(_ id: String, _ key: String, _ json: JSONValue) throws -> AudienceSpec {
        AudienceSpec(
            id: id, key: key, name: key, liveVersion: 1, live: try DefinitionParser.condition(json),
            buildingVersion: nil, building: nil)
    }

    func event(_ name: String, _ id: String, daysAgo: Double, _ properties: [String: JSONValue] = [:]) -> EventInput {
        EventInput(id: id, name: name, properties: properties, time: now.addingTimeInterval(-daysAgo * day))
    }

    var viewedNotBought: JSONValue {
        [
            "type": "and",
            "conditions": [
                [
                    "type": "event", "event": "Product Viewed", "count": ["operator": "at_least", "value": 3],
                    "window": ["within": ["value": 7, "unit": "days"]],
                    "where": [["property": "price", "operator": "greater_than", "value": 10]],
                ],
                ["type": "not", "condition": ["type": "event", "event": "Order Completed"]],
            ],
        ]
    }

    @Test func countsWithinTheWindowAndTheNotHolds() throws {
        let evaluator = Evaluator(
            space: CompiledSpace(audiences: [try audience("a1", "hot", viewedNotBought)], traits: []))
        var state = ProfileState(profileId: "p")
        evaluator.apply(event("Product Viewed", "e1", daysAgo: 6, ["price": 20]), to: &state, now: now)
        evaluator.apply(event("Product Viewed", "e2", daysAgo: 1, ["price": 5]), to: &state, now: now)  // filtered out
        evaluator.apply(event("Product Viewed", "e3", daysAgo: 1, ["price": 30]), to: &state, now: now)
        #expect(evaluator.evaluate(&state, audiences: nil, now: now, statuses: [:]).isEmpty)
        evaluator.apply(event("Product Viewed", "e4", daysAgo: 0.5, ["price": "12.5"]), to: &state, now: now)
        // The same event again (redelivery, or backfill meeting the live stream) counts once.
        evaluator.apply(event("Product Viewed", "e4", daysAgo: 0.5, ["price": "12.5"]), to: &state, now: now)
        #expect(evaluator.evaluate(&state, audiences: nil, now: now, statuses: [:]).map(\.entered) == [true])
        // The oldest view leaves the window in one day: that is when time alone changes membership.
        #expect(evaluator.nextChange(of: state, after: now) == now.addingTimeInterval(day))
        let later = now.addingTimeInterval(day + 1)
        #expect(evaluator.evaluate(&state, audiences: nil, now: later, statuses: [:]).map(\.entered) == [false])
        evaluator.apply(event("Product Viewed", "e5", daysAgo: 0, ["price": 99]), to: &state, now: now)
        #expect(evaluator.evaluate(&state, audiences: nil, now: now, statuses: [:]).map(\.entered) == [true])
        evaluator.apply(event("Order Completed", "o1", daysAgo: 0), to: &state, now: now)
        #expect(evaluator.evaluate(&state, audiences: nil, now: now, statuses: [:]).map(\.entered) == [false])
    }

    @Test func keepsOnlyTheEventsACountNeeds() throws {
        let evaluator = Evaluator(
            space: CompiledSpace(
                audiences: [
                    try audience(
                        "a1", "few",
                        [
                            "type": "event", "event": "Login", "count": ["operator": "at_most", "value": 2],
                        ])
                ], traits: []))
        var state = ProfileState(profileId: "p")
        for index in 0..<10 {
            evaluator.apply(event("Login", "l\(index)", daysAgo: Double(10 - index)), to: &state, now: now)
        }
        #expect(state.entries.values.first?.count == 3)
        #expect(evaluator.evaluate(&state, audiences: nil, now: now, statuses: [:]).isEmpty)
    }

    @Test func audienceOfAudienceAndSubscriptionsInDependencyOrder() throws {
        let pro = try audience("a1", "pro", ["type": "trait", "trait": "plan", "operator": "equals", "value": "pro"])
        let reachable = try audience(
            "a2", "pro_reachable",
            [
                "type": "and",
                "conditions": [
                    ["type": "audience", "audience": "pro"],
                    ["type": "subscription", "channel": "EMAIL", "status": "subscribed"],
                ],
            ])
        // Given in the wrong order: evaluation order follows the references.
        let space = CompiledSpace(audiences: [reachable, pro], traits: [])
        #expect(space.audiences.map(\.key) == ["pro", "pro_reachable"])
        let evaluator = Evaluator(space: space)
        var state = ProfileState(profileId: "p")
        state.traits["plan"] = "pro"
        state.email = "ada@example.com"
        let subscribed = [
            ContactStateKey(channel: .email, contact: "ada@example.com", group: ""): SubscriptionStatus.subscribed
        ]
        #expect(
            evaluator.affected(events: [], traits: ["plan"], computed: [], subscriptions: false, time: false) == [
                "a1", "a2",
            ])
        let changes = evaluator.evaluate(&state, audiences: nil, now: now, statuses: subscribed)
        #expect(changes.map(\.audience.key) == ["pro", "pro_reachable"])
        let unsubscribed = [
            ContactStateKey(channel: .email, contact: "ada@example.com", group: ""): SubscriptionStatus.unsubscribed
        ]
        #expect(
            evaluator.evaluate(&state, audiences: ["a2"], now: now, statuses: unsubscribed).map(\.entered) == [false])
    }

    @Test func mergingUnitesEventsWithoutCountingTwice() throws {
        let evaluator = Evaluator(
            space: CompiledSpace(
                audiences: [
                    try audience(
                        "a1", "three",
                        [
                            "type": "event", "event": "Viewed", "count": ["operator": "at_least", "value": 3],
                        ])
                ], traits: []))
        var survivor = ProfileState(profileId: "s")
        var loser = ProfileState(profileId: "l")
        evaluator.apply(event("Viewed", "shared", daysAgo: 1), to: &survivor, now: now)
        evaluator.apply(event("Viewed", "e1", daysAgo: 1), to: &survivor, now: now)
        evaluator.apply(event("Viewed", "shared", daysAgo: 1), to: &loser, now: now)
        loser.traits = ["plan": "free", "city": "Oslo"]
        survivor.traits = ["plan": "pro"]
        evaluator.absorb(loser, into: &survivor, now: now)
        #expect(evaluator.evaluate(&survivor, audiences: nil, now: now, statuses: [:]).isEmpty)
        #expect(survivor.traits == ["plan": "pro", "city": "Oslo"])
        evaluator.apply(event("Viewed", "e2", daysAgo: 0), to: &loser, now: now)
        evaluator.absorb(loser, into: &survivor, now: now)
        #expect(evaluator.evaluate(&survivor, audiences: nil, now: now, statuses: [:]).map(\.entered) == [true])
    }

    @Test func computedTraitsCountAggregateAndPick() throws {
        func trait(_ id: String, _ key: String, _ json: JSONValue) throws -> TraitSpec {
            TraitSpec(
                id: id, key: key, liveVersion: 1, live: try DefinitionParser.computedTrait(json), buildingVersion: nil,
                building: nil)
        }
        let traits = [
            try trait(
                "t1", "orders_30d",
                [
                    "type": "event_counter", "event": "Order Completed",
                    "window": ["within": ["value": 30, "unit": "days"]],
                ]),
            try trait(
                "t2", "revenue",
                ["type": "aggregation", "aggregation": "sum", "event": "Order Completed", "property": "revenue"]),
            try trait(
                "t3", "favourite", ["type": "most_frequent", "event": "Order Completed", "property": "category"]),
            try trait("t4", "first_category", ["type": "first", "event": "Order Completed", "property": "category"]),
        ]
        let big = try audience(
            "a1", "big_spender",
            ["type": "computed_trait", "trait": "revenue", "operator": "greater_or_equal", "value": 100])
        let evaluator = Evaluator(space: CompiledSpace(audiences: [big], traits: traits))
        var state = ProfileState(profileId: "p")
        evaluator.apply(
            event("Order Completed", "o1", daysAgo: 40, ["revenue": 50, "category": "books"]), to: &state, now: now)
        evaluator.apply(
            event("Order Completed", "o2", daysAgo: 2, ["revenue": "30", "category": "toys"]), to: &state, now: now)
        evaluator.apply(
            event("Order Completed", "o3", daysAgo: 1, ["revenue": 25, "category": "toys"]), to: &state, now: now)
        let changed = evaluator.refreshComputed(&state, now: now)
        #expect(Set(changed.keys) == ["orders_30d", "revenue", "favourite", "first_category"])
        #expect(state.computed["orders_30d"] == .number(2))
        #expect(state.computed["revenue"] == .number(105))
        #expect(state.computed["favourite"] == "toys")
        #expect(state.computed["first_category"] == "books")
        #expect(
            evaluator.affected(events: [], traits: [], computed: ["revenue"], subscriptions: false, time: false) == [
                "a1"
            ])
        #expect(evaluator.evaluate(&state, audiences: nil, now: now, statuses: [:]).map(\.entered) == [true])
        // A deleted computed trait's value leaves the state.
        _ = Evaluator(space: CompiledSpace(audiences: [], traits: Array(traits.prefix(1)))).refreshComputed(
            &state, now: now)
        #expect(Set(state.computed.keys) == ["orders_30d"])
    }

    @Test func stateSurvivesItsStorageForm() {
        var state = ProfileState(profileId: "p")
        state.entries = ["a:x:1:0": [StateEntry(time: 1.5, id: "e1"), StateEntry(time: 2, id: "e2", value: ["n": 1])]]
        #expect(ProfileState.entries(fromJSON: state.entriesJSON) == state.entries)
    }
}
