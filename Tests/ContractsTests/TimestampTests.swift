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

    @Test(arguments: [
        "", "yesterday", "2026-13-01T00:00:00Z", "2026-11-22T25:00:00Z", "2026-11-22T08:00:00Zjunk", "2026-11-22",
    ])
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
        let message = SegmentMessage(
            type: .track, messageId: "m-1", anonymousId: "a", event: "E", timestamp: Date(), receivedAt: Date())
        let first = ProfileEvent(
            spaceId: "spa_1", sourceId: "src_1", profileId: "use_1", externalIds: [], message: message)
        let again = ProfileEvent(
            spaceId: "spa_1", sourceId: "src_1", profileId: "use_1", externalIds: [], message: message)
        #expect(first.id == "spa_1:m-1")
        #expect(first.id == again.id)
    }
}

extension Int64 {
    func quotientAndRemainderFloored(_ divisor: Int64) -> (Int64, Int64) {
        let remainder = ((self % divisor) + divisor) % divisor
        return ((self - remainder) / divisor, remainder)
    }
}

@Suite struct CalendarArithmeticTests {
    @Test func formatAndParseAgreeWithFoundationAcrossCenturies() throws {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            // 1900 to 2200, millisecond precision.
            let millis = Int64.random(in: -2_208_988_800_000...7_258_118_400_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(millis) / 1_000)
            let text = Timestamp.format(date)
            // Foundation truncates the binary fraction (x.983 may print as .982); compare whole seconds
            // with it and the milliseconds with the integer they came from.
            let wholeSeconds = Date(timeIntervalSince1970: Double(millis.quotientAndRemainderFloored(1_000).0))
            #expect(text.prefix(19) == wholeSeconds.formatted(style).prefix(19))
            #expect(
                text.dropFirst(20).prefix(3) == String(format: "%03lld", millis.quotientAndRemainderFloored(1_000).1))
            let parsed = try #require(Timestamp.parse(text))
            #expect(abs(parsed.timeIntervalSince(date)) < 0.000_5)
        }
    }

    @Test func refusesDaysThatDoNotExist() {
        #expect(Timestamp.parse("2026-02-29T00:00:00Z") == nil)
        #expect(Timestamp.parse("2024-02-29T00:00:00Z") != nil)
        #expect(Timestamp.parse("2026-04-31T00:00:00Z") == nil)
    }
}
