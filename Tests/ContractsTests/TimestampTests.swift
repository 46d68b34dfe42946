import Contracts
import Foundation
import Testing

@Suite struct TimestampTests {
    let reference = Date(timeIntervalSince1970: 1_795_334_400)  // 2026-11-22T08:00:00Z

    @Test(arguments: [
        "2026-11-22T08:00:00Z", "2026-11-22T08:00:00.000Z", "2026-11-22T08:00:00+00:00",
        "2026-11-22T09:00:00+01:00", "2026-11-22T03:00:00-0500", "2026-11-22 08:00:00Z", "2026-11-22T08:00:00",
    ])
    func parsesTheFormsClientsSend(_ text: String) throws {
        let date = try #require(Timestamp.parse(text))
        #expect(abs(date.timeIntervalSince(reference)) < 0.000_1)
    }

    @Test func keepsFractionalDigitsOfAnyLength() throws {
        let micros = try #require(Timestamp.parse("2026-11-22T08:00:00.123456+00:00"))  // analytics-python
        #expect(abs(micros.timeIntervalSince(reference) - 0.123456) < 0.000_001)
        let nanos = try #require(Timestamp.parse("2026-11-22T08:00:00.123456789Z"))  // analytics-go
        #expect(abs(nanos.timeIntervalSince(reference) - 0.123456789) < 0.000_001)
    }

    @Test(arguments: ["", "yesterday", "2026-13-01T00:00:00Z", "2026-11-22T25:00:00Z", "2026-11-22T08:00:00Zjunk", "2026-11-22"])
    func refusesWhatIsNotATimestamp(_ text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func formatsUTCWithMilliseconds() {
        #expect(Timestamp.format(reference.addingTimeInterval(0.25)) == "2026-11-22T08:00:00.250Z")
    }
}

@Suite struct JSONValueTests {
    @Test func roundTripsArbitraryJSONAndKeepsIntegersIntegral() throws {
        let text = #"{"a":1,"b":1.5,"c":"x","d":[true,null],"e":{"f":-2}}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(value["a"] == .number(1))
        #expect(value["d"] == .array([.bool(true), .null]))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(String(decoding: try encoder.encode(value), as: UTF8.self) == text)
    }

    @Test func identifierStringsOfNumbersHaveNoFraction() {
        #expect(JSONValue.number(42).identifierString == "42")
        #expect(JSONValue.string("u-1").identifierString == "u-1")
        #expect(JSONValue.bool(true).identifierString == nil)
    }

    @Test func profileEventIdsAreStableAcrossRedelivery() {
        let message = SegmentMessage(type: .track, messageId: "m-1", anonymousId: "a", event: "E", timestamp: Date(), receivedAt: Date())
        let first = ProfileEvent(spaceId: "spa_1", sourceId: "src_1", profileId: "use_1", externalIds: [], message: message)
        let again = ProfileEvent(spaceId: "spa_1", sourceId: "src_1", profileId: "use_1", externalIds: [], message: message)
        #expect(first.id == "spa_1:m-1")
        #expect(first.id == again.id)
    }
}
