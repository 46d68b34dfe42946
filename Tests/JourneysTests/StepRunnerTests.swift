import Contracts
import Foundation
import Persistence
import Testing

@testable import JourneysCore

@Suite struct StepRunnerTests {
    let start = Date(timeIntervalSince1970: 1_790_000_000)

    func journey(_ text: String) throws -> JourneyRef {
        let definition = try JourneyParser.parse(JourneyParserTests.json(text)).get()
        return JourneyRef(spaceId: "sp1", journeyId: "jny_1", name: "Test", version: 1, definition: definition)
    }

    func runner(_ journey: JourneyRef, profileId: String = "pr1", traits: [String: JSONValue] = [:], at now: Date)
        -> StepRunner
    {
        StepRunner(
            journey: journey, instance: InstanceRef(id: "ji_1", profileId: profileId, enteredAt: start, trigger: [:]),
            profile: ProfileSnapshot(profileId: profileId, userId: "u-\(profileId)", traits: traits),
            context: ConditionContext(traits: traits, audiences: [], events: [], enteredAt: start), now: now)
    }

    @Test func theAbandonedCartWaitsThenSendsOnTimeoutWithAStableRequestId() throws {
        let cart = try JourneyRef(
            spaceId: "sp1", journeyId: "jny_1", name: "Cart", version: 1,
            definition: JourneyParser.parse(JourneyParserTests.abandonedCart).get())
        // Entering: the wait starts and holds the path for an hour.
        let entered = runner(cart, at: start).advance(PathState(pathId: "p", stepId: "wait", status: .ready))
        #expect(entered.paths[0].status == .waiting)
        #expect(entered.paths[0].dueAt == start.addingTimeInterval(3_600))
        #expect(entered.sends.isEmpty)

        // The clock moves an hour: the awaited-event step starts with its 30-minute timeout.
        let later = start.addingTimeInterval(3_600)
        let waiting = runner(cart, at: later).advance(entered.paths[0])
        #expect(waiting.paths[0].stepId == "check")
        #expect(waiting.paths[0].dueAt == later.addingTimeInterval(1_800))

        // No purchase by the timeout: the SMS goes out and the path ends.
        let timeout = later.addingTimeInterval(1_800)
        let sent = runner(cart, at: timeout).advance(waiting.paths[0])
        #expect(sent.paths[0].status == .done)
        #expect(sent.sends.count == 1)
        #expect(sent.sends[0].request.channel == .sms)
        #expect(sent.sends[0].request.journeyStepId == "sms")
        #expect(sent.events.contains { $0.event == JourneyEvent.Name.branchTaken && $0.branch == "timeout" })
        // Run again (a crash before commit): the same message id, so messaging-send sends once.
        let again = runner(cart, at: timeout.addingTimeInterval(5)).advance(waiting.paths[0])
        #expect(again.sends[0].request.id == sent.sends[0].request.id)
        #expect(again.events.map(\.id) == sent.events.map(\.id))

        // A purchase instead: the awaited branch ends the path without a message.
        var resumed = waiting.paths[0]
        resumed.resumeBranch = "purchased"
        let purchased = runner(cart, at: later.addingTimeInterval(60)).advance(resumed)
        #expect(purchased.sends.isEmpty)
        #expect(purchased.paths[0].status == .done)
        #expect(purchased.events.contains { $0.branch == "purchased" })
    }

    @Test func randomSplitsAreDeterministicAndFollowThePercentages() throws {
        let split = try journey(
            """
            {"entry": {"type": "event", "event": "Signed Up"}, "start": "split",
             "steps": [
               {"id": "split", "type": "random_split", "branches": [
                 {"name": "a", "percent": 50, "next": "send"}, {"name": "b", "percent": 40, "next": "send"},
                 {"name": "holdout", "percent": 10, "holdout": true}]},
               {"id": "send", "type": "send", "channel": "EMAIL", "templateId": "tpl", "next": null}
             ]}
            """)
        var taken: [String: Int] = [:]
        for index in 0..<10_000 {
            let effects = runner(split, profileId: "profile-\(index)", at: start).advance(
                PathState(pathId: "p", stepId: "split", status: .ready))
            let branch = effects.events.first { $0.event == JourneyEvent.Name.branchTaken }?.branch ?? "?"
            taken[branch, default: 0] += 1
            // The holdout receives nothing and its path ends at the split.
            if branch == "holdout" {
                #expect(effects.sends.isEmpty)
                #expect(effects.paths[0].status == .done)
            } else {
                #expect(effects.sends.count == 1)
            }
        }
        // 10,000 draws: each share within 2 percentage points of its target.
        #expect(abs(Double(taken["a"] ?? 0) / 100 - 50) < 2)
        #expect(abs(Double(taken["b"] ?? 0) / 100 - 40) < 2)
        #expect(abs(Double(taken["holdout"] ?? 0) / 100 - 10) < 2)
        // The same profile always takes the same branch.
        let first = runner(split, profileId: "profile-7", at: start).advance(
            PathState(pathId: "p", stepId: "split", status: .ready))
        let second = runner(split, profileId: "profile-7", at: start.addingTimeInterval(99)).advance(
            PathState(pathId: "p", stepId: "split", status: .ready))
        #expect(
            first.events.first { $0.event == JourneyEvent.Name.branchTaken }?.branch
                == second.events.first { $0.event == JourneyEvent.Name.branchTaken }?.branch)
    }

    @Test func multiSplitsFollowEveryMatchingBranchOnPathsOfTheirOwn() throws {
        let split = try journey(
            """
            {"entry": {"type": "event", "event": "Signed Up"}, "start": "route",
             "steps": [
               {"id": "route", "type": "multi_split", "mode": "all", "otherwiseNext": null, "branches": [
                 {"name": "vip", "condition": {"type": "trait", "trait": "tier", "operator": "equals", "value": "gold"}, "next": "email"},
                 {"name": "mobile", "condition": {"type": "trait", "trait": "phone", "operator": "exists"}, "next": "sms"}]},
               {"id": "email", "type": "send", "channel": "EMAIL", "templateId": "tpl_e", "next": null},
               {"id": "sms", "type": "send", "channel": "SMS", "templateId": "tpl_s", "next": null}
             ]}
            """)
        let both = runner(split, traits: ["tier": "gold", "phone": "+15550100"], at: start).advance(
            PathState(pathId: "p", stepId: "route", status: .ready))
        #expect(both.paths.count == 2)
        #expect(both.paths[1].pathId == "p.route.mobile")
        #expect(both.paths[1].stepId == "sms")
        #expect(both.sends.map(\.request.channel) == [.email])
        let neither = runner(split, traits: [:], at: start).advance(
            PathState(pathId: "p", stepId: "route", status: .ready))
        #expect(neither.paths.count == 1)
        #expect(neither.paths[0].status == .done)
        #expect(neither.events.contains { $0.branch == "otherwise" })
    }

    @Test func waitsUntilATimeOfDayInTheProfilesZoneOrATraitDate() throws {
        // 2026-09-21 is a Monday. 08:00 in New York that day is 12:00 UTC.
        let monday = Timestamp.parse("2026-09-21T10:00:00Z")!
        let nineAM = WaitUntil.timeOfDay(
            minutes: 9 * 60, weekdays: [], timeZoneTrait: "timezone", defaultTimeZone: "UTC")
        #expect(
            WaitSchedule.due(nineAM, enteredAt: monday, traits: ["timezone": "America/New_York"])
                == Timestamp.parse("2026-09-21T13:00:00Z"))
        // Without a (valid) zone: the default, here UTC, so tomorrow 09:00.
        #expect(
            WaitSchedule.due(nineAM, enteredAt: monday, traits: ["timezone": "Mars/Olympus"])
                == Timestamp.parse("2026-09-22T09:00:00Z"))
        // Fridays only.
        let friday = WaitUntil.timeOfDay(
            minutes: 9 * 60, weekdays: [6], timeZoneTrait: "timezone", defaultTimeZone: "UTC")
        #expect(WaitSchedule.due(friday, enteredAt: monday, traits: [:]) == Timestamp.parse("2026-09-25T09:00:00Z"))
        // A day before the renewal date held in a trait; a missing trait does not hold the profile.
        let renewal = WaitUntil.traitDate(trait: "renewal_date", offsetSeconds: -86_400)
        #expect(
            WaitSchedule.due(renewal, enteredAt: monday, traits: ["renewal_date": "2026-10-01T00:00:00Z"])
                == Timestamp.parse("2026-09-30T00:00:00Z"))
        #expect(WaitSchedule.due(renewal, enteredAt: monday, traits: [:]) == nil)
    }
}

@Suite struct OutboxPayloadTests {
    @Test func journeyEventsAndMessageRequestsDecodeToWhatWasWritten() throws {
        var event = JourneyEvent(
            id: "je_1", spaceId: "sp1", event: JourneyEvent.Name.converted, profileId: "pr1",
            occurredAt: Date(timeIntervalSince1970: 1_790_000_000.123))
        event.journeyId = "jny_1"
        event.journeyName = "Cart \"promo\""
        event.journeyVersion = 3
        event.anonymousIds = ["a1"]
        event.channel = .whatsapp
        event.messageId = "jm_1"
        let decoded = try WireDecoder.decode(JourneyEvent.self, from: event.outbox().payload.utf8)
        #expect(decoded == event)
        let request = MessageRequest(
            id: "bm_1", spaceId: "sp1", profileId: "pr1", channel: .email, templateId: "tpl", templateVersion: 2,
            purpose: .marketing, group: "news", broadcastId: "bc_1",
            occurredAt: Date(timeIntervalSince1970: 1_790_000_000.5))
        #expect(try WireDecoder.decode(MessageRequest.self, from: request.outbox().payload.utf8) == request)
    }
}
