import Contracts
import Foundation
import Testing

@testable import ConsoleCore

/// Every kind of step survives its form: shown as fields and read back, it is the same step (what
/// the form does not show, such as an awaited event's filters, is kept).
@Suite struct JourneyStepFormTests {
    static let steps: [JSONValue] = [
        ["id": "w", "type": "wait", "seconds": 90, "next": "x"],
        [
            "id": "t", "name": "Morning", "type": "wait_until", "time": "09:30", "weekdays": ["mon", "fri"],
            "timeZoneTrait": "tz", "defaultTimeZone": "Europe/Paris", "next": nil,
        ],
        ["id": "r", "type": "wait_until", "trait": "renewal", "offsetSeconds": -86400, "next": "x"],
        [
            "id": "c", "type": "wait_for_event", "timeoutSeconds": 7200, "timeoutNext": "x",
            "branches": [
                [
                    "name": "bought", "event": "Order Completed", "next": nil,
                    "where": [["property": "total", "operator": "greater_than", "value": 0]],
                ]
            ],
        ],
        [
            "id": "s", "type": "split", "trueNext": "x", "falseNext": nil,
            "condition": ["type": "trait", "trait": "plan", "operator": "equals", "value": "pro"],
        ],
        [
            "id": "s2", "type": "split", "trueNext": "x", "falseNext": nil,
            "condition": [
                "type": "and",
                "conditions": [
                    ["type": "audience", "audienceId": "aud_1"], ["type": "performed", "event": "Viewed"],
                ],
            ],
        ],
        [
            "id": "m", "type": "multi_split", "mode": "all", "otherwiseNext": nil,
            "branches": [
                ["name": "vip", "condition": ["type": "audience", "audienceId": "aud_1"], "next": "x"],
                ["name": "buyers", "condition": ["type": "performed", "event": "Order Completed"], "next": nil],
                [
                    "name": "big", "next": nil,
                    "condition": ["type": "trait", "trait": "plan", "operator": "in", "value": ["pro", "team"]],
                ],
            ],
        ],
        [
            "id": "r2", "type": "random_split",
            "branches": [
                ["name": "a", "percent": 45, "next": "x"], ["name": "b", "percent": 45, "next": nil],
                ["name": "holdout", "percent": 10, "holdout": true],
            ],
        ],
        [
            "id": "p", "type": "send", "channel": "SMS", "templateId": "tpl_1", "purpose": "marketing", "next": nil,
            "goal": ["event": "Order Completed", "windowSeconds": 259200],
        ],
        ["id": "d", "type": "destination", "topic": "crm.context", "next": nil],
        [
            "id": "st", "type": "set_traits", "traits": ["vip": true, "score": 10, "tier": "gold", "code": "10"],
            "next": nil,
        ],
        ["id": "e", "type": "exit"],
    ]

    @Test(arguments: steps)
    func aStepReadsBackFromItsOwnForm(_ json: JSONValue) throws {
        let step = try #require(json.objectValue)
        let draft = JourneyDraft(["start": "x", "steps": .array(Self.steps + [["id": "x", "type": "exit"]])])
        let id = try #require(step["id"]?.stringValue)
        var form = JourneyStepForm(
            kind: JourneyText.kind(of: step), fields: JourneyStepForm.fields(from: step), draft: draft, editing: id,
            templates: [.init(id: "tpl_1", name: "Cart promo", channel: "SMS", purpose: "marketing")])
        let read = form.step(existing: step)
        #expect(form.errors.isEmpty)
        #expect(JSONValue.object(read) == json)
    }

    @Test func aNewStepTakesTheTemplatesChannelAndContinuesWhereItsPlaceLed() throws {
        let draft = JourneyDraft([
            "start": "wait",
            "steps": [["id": "wait", "type": "wait", "seconds": 60, "next": "bye"], ["id": "bye", "type": "exit"]],
        ])
        let slot = try #require(draft.slot(formValue: "wait|next"))
        var form = JourneyStepForm(
            kind: "send",
            fields: FormFields([
                ("name", "Cart promo"), ("templateId", "tpl_1"), ("purpose", "marketing"),
                ("goalEvent", "Order Completed"),
                ("goalAmount", "3"), ("goalUnit", "days"), ("next", JourneyStepForm.afterPrevious),
            ]), draft: draft, editing: nil,
            templates: [.init(id: "tpl_1", name: "Cart promo", channel: "SMS", purpose: "marketing")],
            afterTarget: slot.target)
        let step = form.step(existing: nil)
        #expect(step["id"] == "cart_promo" && step["channel"] == "SMS" && step["next"] == "bye")
        #expect(step["goal"] == ["event": "Order Completed", "windowSeconds": 259200])
        var edited = draft
        edited.insert(step, at: slot)
        #expect(edited.step("wait")?["next"] == "cart_promo")
    }

    @Test func typedNumbersThatAreNotNumbersAreRefusedWithTheField() {
        var form = JourneyStepForm(
            kind: "wait", fields: FormFields([("amount", "soon"), ("unit", "hours")]), draft: JourneyDraft(nil),
            editing: nil)
        _ = form.step(existing: nil)
        #expect(form.errors["amount"] != nil)
    }
}

@Suite struct JourneyDraftTests {
    static let cart = JourneyDraft([
        "start": "wait",
        "steps": [
            ["id": "wait", "type": "wait", "seconds": 2, "next": "check"],
            [
                "id": "check", "type": "wait_for_event", "timeoutSeconds": 3, "timeoutNext": "promo",
                "branches": [["name": "purchased", "event": "Order Completed", "next": nil]],
            ],
            ["id": "promo", "type": "send", "channel": "SMS", "templateId": "tpl_1", "next": nil],
        ],
    ])

    @Test func removingAStepReconnectsWhatLedToIt() {
        var draft = Self.cart
        draft.removeStep("wait")
        #expect(draft.start == "check")
        draft.removeStep("promo")
        #expect(draft.step("check")?["timeoutNext"] == .null)
        #expect(draft.stepIds == ["check"])
    }

    @Test func newStepsGoAtTheEndOfThePathByDefault() {
        #expect(Self.cart.defaultSlot.formValue == "check|branches.0")
        #expect(JourneyDraft(["steps": []]).defaultSlot.formValue == "start")
        #expect(Self.cart.uniqueId("Wait") == "wait_2" && Self.cart.uniqueId("Order Completed!") == "order_completed")
    }

    @Test func problemsAreSortedOntoTheirSteps() {
        let problems = JourneyProblems(
            [
                "steps[1].timeoutNext: is required (null ends the path)",
                "steps.promo.templateId: template \"tpl_1\" does not exist in this space",
                "graph: step \"promo\" is never reached from the start", "entry.event: is required",
                "stepMapping.x: version 1 has no step \"x\"",
            ], draft: Self.cart)
        #expect(problems.byStep["check"] == ["timeoutNext: is required (null ends the path)"])
        #expect(problems.byStep["promo"]?.count == 2)
        #expect(problems.entry == ["entry.event: is required"])
        #expect(problems.general == ["stepMapping.x: version 1 has no step \"x\""])
        #expect(problems.lines.count == 5)
    }
}
