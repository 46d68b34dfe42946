import Contracts
import Testing

@testable import SubscriptionsCore

@Suite struct SubscriptionRulesTests {
    func order(_ micros: Int64, _ sequence: Int64 = 0, _ id: String = "c") -> CommandOrder {
        CommandOrder(micros: micros, sequence: sequence, commandId: id)
    }

    func state(_ status: SubscriptionStatus, at micros: Int64, byReply: Bool = false) -> StateSnapshot {
        StateSnapshot(status: status, optedOutByReply: byReply, order: order(micros))
    }

    func decide(
        _ status: SubscriptionStatus, _ channel: SubscriptionChannel = .sms, group: Bool = false,
        source: SubscriptionSource = .api,
        at micros: Int64 = 10, sequence: Int64 = 0, current: StateSnapshot?, global: StateSnapshot? = nil
    ) -> Decision {
        SubscriptionRules.decide(
            status: status, channel: channel, isGroup: group, source: source, order: order(micros, sequence, "new"),
            current: current, globalEmail: global)
    }

    @Test func firstCommandSetsAStatus() {
        #expect(decide(.subscribed, current: nil) == .change(to: .subscribed, optedOutByReply: false))
    }

    @Test func anOlderCommandNeverOverridesANewerState() {
        #expect(decide(.unsubscribed, at: 5, current: state(.subscribed, at: 9)) == .superseded)
        // Same time: the sequence (row number) orders them.
        let current = StateSnapshot(status: .subscribed, optedOutByReply: false, order: order(9, 7, "row7"))
        #expect(decide(.unsubscribed, at: 9, sequence: 3, current: current) == .superseded)
        #expect(
            decide(.unsubscribed, at: 9, sequence: 8, current: current)
                == .change(to: .unsubscribed, optedOutByReply: false))
    }

    @Test func aRedeliveredCommandIsNotNewerThanItself() {
        let current = StateSnapshot(status: .subscribed, optedOutByReply: false, order: order(10, 0, "new"))
        #expect(decide(.subscribed, at: 10, current: current) == .superseded)
    }

    @Test func sameStatusIsUnchanged() {
        #expect(decide(.subscribed, current: state(.subscribed, at: 1)) == .unchanged(optedOutByReply: false))
    }

    @Test func stopReplyLocksTheNumberAgainstAPIAndCSV() {
        let stopped = state(.unsubscribed, at: 1, byReply: true)
        for source in [SubscriptionSource.api, .csv, .provider, .unsubscribeLink] {
            guard case .reject(.optedOutByReply, _) = decide(.subscribed, source: source, current: stopped) else {
                Issue.record("\(source) re-subscribed a number that replied STOP")
                continue
            }
            guard case .reject(.optedOutByReply, _) = decide(.didNotSubscribe, source: source, current: stopped) else {
                Issue.record("\(source) lifted a STOP with did_not_subscribe")
                continue
            }
        }
        #expect(
            decide(.subscribed, source: .inboundReply, current: stopped)
                == .change(to: .subscribed, optedOutByReply: false))
        // An API unsubscribe of a STOPped number keeps the lock.
        #expect(decide(.unsubscribed, source: .api, current: stopped) == .unchanged(optedOutByReply: true))
    }

    @Test func stopReplyOnAnUnsubscribedNumberStillLocksIt() {
        #expect(
            decide(.unsubscribed, source: .inboundReply, current: state(.unsubscribed, at: 1))
                == .unchanged(optedOutByReply: true))
        #expect(
            decide(.unsubscribed, source: .inboundReply, current: state(.subscribed, at: 1))
                == .change(to: .unsubscribed, optedOutByReply: true))
    }

    @Test func apiUnsubscribeDoesNotLock() {
        #expect(
            decide(.unsubscribed, source: .api, current: state(.subscribed, at: 1))
                == .change(to: .unsubscribed, optedOutByReply: false))
        #expect(
            decide(.subscribed, source: .api, at: 20, current: state(.unsubscribed, at: 10))
                == .change(to: .subscribed, optedOutByReply: false))
    }

    @Test func emailIsNeverLockedByReply() {
        #expect(
            decide(.unsubscribed, .email, source: .inboundReply, current: nil)
                == .change(to: .unsubscribed, optedOutByReply: false))
    }

    @Test func globalUnsubscribeWinsOverGroupSubscribe() {
        guard
            case .reject(.globalStateNotSubscribed, _) = decide(
                .subscribed, .email, group: true, current: nil,
                global: state(.unsubscribed, at: 1))
        else {
            Issue.record("group subscribe allowed while globally unsubscribed")
            return
        }
        #expect(
            decide(.unsubscribed, .email, group: true, current: nil, global: state(.unsubscribed, at: 1))
                == .change(to: .unsubscribed, optedOutByReply: false))
        #expect(
            decide(.subscribed, .email, group: true, current: nil, global: state(.subscribed, at: 1))
                == .change(to: .subscribed, optedOutByReply: false))
    }
}
