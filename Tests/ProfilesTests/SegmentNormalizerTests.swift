import Contracts
import Foundation
import Testing

@testable import ProfilesCore

@Suite struct SegmentNormalizerTests {
    let now = Date(timeIntervalSince1970: 1_795_334_400)  // 2026-11-22T08:00:00Z

    func normalize(_ json: String, implied: SegmentMessageType? = .track) throws -> SegmentMessage {
        let object = try TrackingRecord.parseObject(Array(json.utf8))
        return try SegmentNormalizer.normalize(
            object, impliedType: implied, receivedAt: now, makeMessageId: { "generated" })
    }

    func reason(_ json: String, implied: SegmentMessageType? = .track) -> String? {
        do {
            _ = try normalize(json, implied: implied)
            return nil
        } catch let error as InvalidMessage {
            return error.reason
        } catch {
            return "\(error)"
        }
    }

    @Test func appliesSegmentsClockSkewCorrection() throws {
        // The client's clock is 10 minutes fast: it says it sent at 08:10 an event of 08:09.
        let message = try normalize(
            """
            {"anonymousId":"a","event":"E","timestamp":"2026-11-22T08:09:00Z","sentAt":"2026-11-22T08:10:00Z"}
            """)
        #expect(message.timestamp == now.addingTimeInterval(-60))
        #expect(message.originalTimestamp == now.addingTimeInterval(9 * 60))
        #expect(message.receivedAt == now)
    }

    @Test func normalisingTwiceChangesNothing() throws {
        let once = try normalize(
            #"{"anonymousId":"a","event":"E","timestamp":"2026-11-22T08:09:00Z","sentAt":"2026-11-22T08:10:00Z"}"#)
        let encoded = try WireEncoder.encode(once)
        let object = try TrackingRecord.parseObject(Array(encoded))
        let twice = try SegmentNormalizer.normalize(object, impliedType: nil, receivedAt: now.addingTimeInterval(5))
        #expect(twice == once)
    }

    @Test func withoutTimestampItIsTheReceiveTime() throws {
        let message = try normalize(#"{"userId":"u","event":"E"}"#)
        #expect(message.timestamp == now)
        #expect(message.messageId == "generated")
    }

    @Test func numericIdsBecomeStrings() throws {
        let message = try normalize(#"{"userId":12345,"event":"E","messageId":"m1"}"#)
        #expect(message.userId == "12345")
        #expect(message.messageId == "m1")
    }

    @Test(arguments: [
        (#"{"event":"E"}"#, "track: userId or anonymousId is required"),
        (#"{"userId":null,"anonymousId":"","event":"E"}"#, "track: userId or anonymousId is required"),
        (#"{"anonymousId":"a"}"#, "track: event is required and must be a non-empty string"),
        (
            #"{"anonymousId":"a","event":"E","type":"identify"}"#,
            "type \"identify\" does not match the endpoint /v1/track"
        ),
        (#"{"anonymousId":["a"],"event":"E"}"#, "anonymousId must be a string or a number"),
        (#"{"anonymousId":"a","event":"E","properties":[1]}"#, "properties must be a JSON object"),
        (#"{"anonymousId":"a","event":"E","timestamp":"noon"}"#, "timestamp \"noon\" is not an ISO-8601 timestamp"),
    ])
    func refusesInvalidTrackCalls(json: String, expected: String) {
        #expect(reason(json) == expected)
    }

    @Test func refusesOverlongMessageIds() {
        let id = String(repeating: "x", count: 100)
        #expect(
            reason(#"{"anonymousId":"a","event":"E","messageId":"\#(id)"}"#)
                == "messageId must be shorter than 100 characters")
    }

    @Test func refusesThreeHundredProperties() {
        let properties = (0..<300).map { "\"p\($0)\":1" }.joined(separator: ",")
        #expect(
            reason(#"{"anonymousId":"a","event":"E","properties":{\#(properties)}}"#)
                == "properties has 300 keys; the limit is 299")
    }

    @Test func batchItemsNeedAType() {
        #expect(reason(#"{"anonymousId":"a","event":"E"}"#, implied: nil) == "type is required")
        #expect(
            reason(#"{"type":"click","anonymousId":"a"}"#, implied: nil)
                == "type \"click\" is not one of identify, track, page, screen, group, alias")
    }

    @Test func aliasAndGroupNeedTheirIds() {
        #expect(reason(#"{"userId":"u"}"#, implied: .alias) == "alias: previousId is required")
        #expect(reason(#"{"anonymousId":"a","previousId":"p"}"#, implied: .alias) == "alias: userId is required")
        #expect(reason(#"{"userId":"u"}"#, implied: .group) == "group: groupId is required")
    }

    @Test func nulInAnyStringIsRefusedWhereItIs() {
        // Postgres text and jsonb cannot store U+0000: the API answers 400, the topic intake dead-letters.
        let nul = "NUL (\\u0000) is not allowed in strings: it cannot be stored"
        #expect(reason(#"{"userId":"x\u0000y","event":"E"}"#) == "malformed JSON: \(nul) at byte 12")
        #expect(
            reason(#"{"userId":"u","event":"E","properties":{"k\u0000":1}}"#) == "malformed JSON: \(nul) at byte 42")
        #expect(
            reason(#"{"userId":"u","event":"E","context":{"page":{"title":"a\u0000"}}}"#)
                == "malformed JSON: \(nul) at byte 55")
        // Other escaped control characters are stored fine.
        #expect(reason(#"{"userId":"u","event":"E\u0001"}"#) == nil)
    }

    @Test func largeIntegersKeepTheirExactValue() throws {
        let message = try normalize(
            #"{"userId":12345678901234567890123,"event":"Order Completed","properties":{"order_id":9007199254740993}}"#)
        #expect(message.userId == "12345678901234567890123")
        #expect(message.properties?["order_id"]?.json == "9007199254740993")
        #expect(try WireEncoder.string(message).contains(#""order_id":9007199254740993"#))
    }

    @Test func malformedJSONIsNamed() {
        #expect(throws: InvalidMessage.self) { try TrackingRecord.parseObject(Array("{\"a\":".utf8)) }
        #expect(throws: InvalidMessage("the body must be a JSON object")) {
            try TrackingRecord.parseObject(Array("[1]".utf8))
        }
    }
}
