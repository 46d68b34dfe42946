import Contracts
import Foundation
import Testing

@testable import JourneysCore

@Suite struct JourneyParserTests {
    static func json(_ text: String) -> JSONValue { try! JSONParser.parse(Array(text.utf8)) }

    static let abandonedCart = json(
        """
        {"entry": {"type": "event", "event": "Product Added"},
         "reentry": {"mode": "after_exit", "minimumGapSeconds": 60},
         "exitRules": [{"type": "event", "event": "Order Completed"}],
         "start": "wait",
         "steps": [
           {"id": "wait", "type": "wait", "seconds": 3600, "next": "check"},
           {"id": "check", "type": "wait_for_event", "timeoutSeconds": 1800, "timeoutNext": "sms",
            "branches": [{"name": "purchased", "event": "Order Completed", "next": null}]},
           {"id": "sms", "type": "send", "channel": "SMS", "templateId": "tpl_promo", "purpose": "marketing",
            "goal": {"event": "Order Completed", "where": [{"property": "total", "operator": "greater_than", "value": 0}], "windowSeconds": 86400},
            "next": null}
         ]}
        """)

    @Test func aValidJourneyParses() throws {
        let templates: [String: JourneyParser.TemplateInfo] = ["tpl_promo": .init(channel: .sms, currentVersion: 2)]
        let definition = try JourneyParser.parse(Self.abandonedCart, templates: { templates[$0] }, checkTemplates: true)
            .get()
        #expect(definition.start == "wait")
        #expect(definition.reentry == .afterExit(minimumGapSeconds: 60))
        #expect(definition.steps.map(\.typeName) == ["wait", "wait_for_event", "send"])
        guard case .send(let action, _) = definition.stepsById["sms"]?.kind else {
            Issue.record("not a send")
            return
        }
        #expect(action.goal?.windowSeconds == 86_400)
        #expect(action.goal?.match.matches(event: "Order Completed", properties: ["total": 12]) == true)
        #expect(action.goal?.match.matches(event: "Order Completed", properties: ["total": 0]) == false)
    }

    @Test func publishingListsEveryProblem() {
        let broken = Self.json(
            """
            {"entry": {"type": "audience", "audienceId": "aud_1"},
             "reentry": {"mode": "every_event"},
             "start": "a",
             "steps": [
               {"id": "a", "type": "random_split", "branches": [{"name": "x", "percent": 50, "next": "b"}, {"name": "y", "percent": 30, "next": "c"}]},
               {"id": "b", "type": "wait", "seconds": 10},
               {"id": "c", "type": "send", "channel": "EMAIL", "templateId": "tpl_sms", "next": "d"},
               {"id": "d", "type": "wait", "seconds": 5, "next": "c"},
               {"id": "lost", "type": "exit"}
             ]}
            """)
        let templates: [String: JourneyParser.TemplateInfo] = ["tpl_sms": .init(channel: .sms, currentVersion: 1)]
        guard
            case .failure(let problems) = JourneyParser.parse(
                broken, templates: { templates[$0] }, checkTemplates: true)
        else {
            Issue.record("a broken journey parsed")
            return
        }
        // Field problems first; the graph is checked once the fields are readable.
        #expect(
            problems.items.contains(
                "reentry.mode: every_event needs an event entry (an audience is entered once at a time)"))
        #expect(problems.items.contains("steps[1].next: is required (null ends the path)"))

        let readable = Self.json(
            """
            {"entry": {"type": "audience", "audienceId": "aud_1"},
             "start": "a",
             "steps": [
               {"id": "a", "type": "random_split", "branches": [{"name": "x", "percent": 50, "next": "b"}, {"name": "y", "percent": 30, "next": "c"}]},
               {"id": "b", "type": "wait", "seconds": 10, "next": "nowhere"},
               {"id": "c", "type": "send", "channel": "EMAIL", "templateId": "tpl_sms", "templateVersion": 3, "next": "d"},
               {"id": "d", "type": "wait", "seconds": 5, "next": "c"},
               {"id": "lost", "type": "exit"}
             ]}
            """)
        guard
            case .failure(let graph) = JourneyParser.parse(readable, templates: { templates[$0] }, checkTemplates: true)
        else {
            Issue.record("a broken graph parsed")
            return
        }
        #expect(graph.items.contains("steps.a.branches: percentages add up to 80, not 100"))
        #expect(graph.items.contains("steps.b: branch next leads to \"nowhere\", which is not a step"))
        #expect(graph.items.contains("graph: steps \"d\" -> \"c\" close a cycle; every path must end"))
        #expect(graph.items.contains("graph: step \"lost\" is never reached from the start"))
        #expect(
            graph.items.contains("steps.c.templateId: template \"tpl_sms\" is a SMS template, the step sends EMAIL"))
        #expect(graph.items.contains("steps.c.templateVersion: template \"tpl_sms\" has versions 1 to 1"))
        #expect(graph.items.count == 6)
    }
}
