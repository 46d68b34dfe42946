import Contracts
import Foundation
import Testing

@testable import MessagingSendCore

@Suite struct SendPolicyTests {
    let quiet = SendPolicy.QuietHours(start: "21:00", end: "08:00", timeZoneTrait: "timezone", defaultTimeZone: "UTC")

    @Test func quietHoursSpanningMidnightDelayToTheirEndInTheProfilesZone() {
        let paris = TimeZone(identifier: "Europe/Paris")!
        // 22:30 in Paris (20:30 UTC, summer time): quiet until 08:00 Paris, 9.5 hours on.
        let evening = Timestamp.parse("2026-07-01T20:30:00Z")!
        #expect(quiet.remaining(at: evening, in: paris) == 9.5 * 3_600)
        // 07:59 Paris: one more minute.
        #expect(quiet.remaining(at: Timestamp.parse("2026-07-02T05:59:00Z")!, in: paris) == 60)
        // 08:00 and midday: not quiet.
        #expect(quiet.remaining(at: Timestamp.parse("2026-07-02T06:00:00Z")!, in: paris) == nil)
        #expect(quiet.remaining(at: Timestamp.parse("2026-07-02T10:00:00Z")!, in: paris) == nil)
        // The zone comes from the trait when it names one.
        #expect(quiet.timeZone(traits: ["timezone": "Asia/Tokyo"]).identifier == "Asia/Tokyo")
        #expect(quiet.timeZone(traits: ["timezone": "Nowhere/Land"]) == TimeZone(identifier: "UTC"))
    }

    @Test func everyProblemOfAPolicyIsNamed() {
        let policy = SendPolicy(
            frequencyCap: .init(messages: 0, windowSeconds: 86_400),
            quietHours: .init(start: "25:00", end: "08:00", timeZoneTrait: "timezone", defaultTimeZone: "Nowhere/Land"))
        #expect(
            policy.problems() == [
                "frequencyCap.messages must be between 1 and 10000",
                "quietHours.start must be HH:MM (00:00-23:59)",
                "quietHours.defaultTimeZone \"Nowhere/Land\" is not an IANA time zone",
            ])
    }
}
