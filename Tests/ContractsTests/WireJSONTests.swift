import Contracts
import Foundation
import Testing

/// The platform's encoder and decoder against Foundation's (configured for ISO-8601 dates, as any
/// downstream Swift reader would be): what one writes, the other reads as the same value.
@Suite struct WireJSONTests {
    let at = Date(timeIntervalSince1970: 1_790_000_000.123)

    static let foundationDecoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            return Timestamp.parse(text) ?? .distantPast
        }
        return decoder
    }()

    static let foundationEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }()

    /// Round trip through both coders both ways; answers the platform's text as a tree.
    @discardableResult
    func roundTrips<T: Codable & Equatable>(_ value: T) throws -> JSONValue {
        let ours = try WireEncoder.encode(value)
        #expect(try WireDecoder.decode(T.self, from: ours) == value)
        #expect(try Self.foundationDecoder.decode(T.self, from: Data(ours)) == value)
        let theirs = try Self.foundationEncoder.encode(value)
        #expect(try WireDecoder.decode(T.self, from: Array(theirs)) == value)
        return try JSONParser.parse(ours)
    }

    @Test func profileEventsAndUpdatesRoundTrip() throws {
        let message = SegmentMessage(
            type: .page, messageId: "m-1", anonymousId: "a", name: "Home", category: "Docs",
            properties: ["path": "/", "n": 1, "big": .largeInteger(LargeInteger(literal: "9007199254740993")!)],
            context: ["ip": "1.2.3.4", "library": ["name": "x"]], integrations: ["All": true],
            timestamp: at, originalTimestamp: at.addingTimeInterval(-1), sentAt: at, receivedAt: at)
        let tree = try roundTrips(
            ProfileEvent(
                spaceId: "spa", sourceId: "src", profileId: "use_1",
                externalIds: [ExternalID(type: "email", id: "a@b.co")], message: message))
        #expect(tree["message"]?["userId"] == nil, "absent members are left out")
        #expect(tree["message"]?["timestamp"] == .string(Timestamp.format(at)))
        try roundTrips(
            ProfileUpdate(
                spaceId: "spa", profileId: "use_1", kind: .identifiersAdded, occurredAt: at,
                causedByMessageId: "m\"1", traits: ["plan": "pro", "n": 3],
                identifiers: [ExternalID(type: "email", id: "a@b.co")], mergedProfileIds: ["use_2"]))
        try roundTrips(
            ProfileUpdate(spaceId: "spa", profileId: "use_1", kind: .merged, occurredAt: at, causedByMessageId: nil))
    }

    @Test func aMemberCanBeCapturedWhileItsValueIsEncoded() throws {
        let message = SegmentMessage(
            type: .track, messageId: "m", userId: "u", event: "E", properties: ["n": 1], timestamp: at, receivedAt: at)
        let event = ProfileEvent(spaceId: "spa", sourceId: "src", profileId: "p", externalIds: [], message: message)
        let (json, member) = try WireEncoder.encode(event, capturingMember: "message")
        let range = try #require(member)
        #expect(String(decoding: json[range], as: UTF8.self) == (try WireEncoder.string(message)))
        #expect(json == (try WireEncoder.encode(event)))
        #expect(try WireEncoder.encode(event, capturingMember: "nothing").member == nil)
    }

    @Test func subscriptionContractsRoundTripAndChangesWriteEveryKey() throws {
        try roundTrips(
            SubscriptionCommandBatch(
                id: "b", spaceId: "spa", source: .csv, origin: "csv-upload:u", correlationId: "u",
                commands: [
                    SubscriptionCommand(
                        id: "c1", channel: .email, contact: "a@b.co", group: "News", status: .subscribed,
                        occurredAt: at, sequence: 7, reference: "7"),
                    SubscriptionCommand(
                        id: "c2", channel: .sms, contact: "+14155550100", status: .didNotSubscribe, occurredAt: at),
                ]))
        let change = try roundTrips(
            SubscriptionChange(
                spaceId: "spa", channel: .email, contact: "a@b.co", group: nil, previousStatus: nil,
                status: .unsubscribed, source: .api, origin: nil, commandId: "c", occurredAt: at, recordedAt: at))
        #expect(change["group"] == .null && change["previousStatus"] == .null && change["origin"] == .null)
    }

    @Test func messageEventsWriteEveryKeyAndRequestsLeaveAbsentOnesOut() throws {
        var event = MessageEvent(
            id: "e", spaceId: "spa", event: "SMS Delivered", channel: .sms, messageId: "m", profileId: nil,
            contact: "+14155550100", occurredAt: at, recordedAt: at)
        event.templateVersion = nil
        let tree = try roundTrips(event)
        for key in ["profileId", "templateVersion", "purpose", "errorMessage", "group"] {
            #expect(tree[key] == .null, "\(key)")
        }
        let request = try roundTrips(
            MessageRequest(
                id: "r", spaceId: "spa", profileId: "use_1", channel: .email, templateId: "t", purpose: .marketing,
                occurredAt: at))
        #expect(request["templateVersion"] == nil && request["group"] == nil)
        #expect(request["test"] == .bool(false))
    }

    @Test func journeyEventsAndDeadLettersRoundTrip() throws {
        var event = JourneyEvent(
            id: "j", spaceId: "spa", event: "Journey Step Entered", profileId: "use_1", occurredAt: at)
        event.journeyVersion = 3
        event.anonymousIds = ["a", "b"]
        event.channel = .whatsapp
        try roundTrips(event)
        try roundTrips(
            DeadLetter(
                originalTopic: "t", partition: 2, offset: 9_000_000_000, key: Array("k".utf8), value: [0xFF, 0x00],
                reason: "bad", consumerGroup: "g", failedAt: at))
    }

    @Test func typedDictionariesAreWrittenWithSortedKeys() throws {
        let counts: [String: Int] = ["b": 2, "a": 1, "c": 3]
        #expect(try WireEncoder.string(counts) == #"{"a":1,"b":2,"c":3}"#)
        let traits: [String: JSONValue] = ["zeta": 1, "alpha": ["b": 2, "a": 1], "mid": "x"]
        #expect(try JSONParser.parse(WireEncoder.encode(traits)) == .object(traits))
    }

    /// A type that writes part of itself through another value's conformance, nested containers
    /// followed by more members, and arrays of arrays: containers close where they should.
    struct Layered: Codable, Equatable {
        var base: ExternalID
        var extra: String
        var matrix: [[Int]]
        var nested: [String: [String: Bool]]

        enum Keys: String, CodingKey { case extra, deep, after, matrix, nested }
        enum Deep: String, CodingKey { case inner }

        init(base: ExternalID, extra: String, matrix: [[Int]], nested: [String: [String: Bool]]) {
            self.base = base
            self.extra = extra
            self.matrix = matrix
            self.nested = nested
        }

        init(from decoder: any Decoder) throws {
            base = try ExternalID(from: decoder)
            let container = try decoder.container(keyedBy: Keys.self)
            extra = try container.decode(String.self, forKey: .extra)
            let deep = try container.nestedContainer(keyedBy: Deep.self, forKey: .deep)
            #expect(try deep.decode([Int].self, forKey: .inner) == [1, 2])
            #expect(try container.decode(Bool.self, forKey: .after))
            matrix = try container.decode([[Int]].self, forKey: .matrix)
            nested = try container.decode([String: [String: Bool]].self, forKey: .nested)
        }

        func encode(to encoder: any Encoder) throws {
            try base.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(extra, forKey: .extra)
            var deep = container.nestedContainer(keyedBy: Deep.self, forKey: .deep)
            var inner = deep.nestedUnkeyedContainer(forKey: .inner)
            try inner.encode(1)
            try inner.encode(2)
            try container.encode(true, forKey: .after)
            try container.encode(matrix, forKey: .matrix)
            try container.encode(nested, forKey: .nested)
        }
    }

    @Test func containersOpenedOutOfOrderCloseWhereTheyShould() throws {
        let value = Layered(
            base: ExternalID(type: "email", id: "a@b.co"), extra: "x", matrix: [[1], [], [2, 3]],
            nested: ["b": ["y": true], "a": [:]])  // typed dictionaries: sorted keys
        #expect(
            try WireEncoder.string(value)
                == #"{"type":"email","id":"a@b.co","collection":"users","encoding":"none","extra":"x","deep":{"inner":[1,2]},"#
                + #""after":true,"matrix":[[1],[],[2,3]],"nested":{"a":{},"b":{"y":true}}}"#)
        try roundTrips(value)
    }

    @Test func scalarsAtTheTopLevel() throws {
        #expect(try WireEncoder.string("a\"b") == #""a\"b""#)
        #expect(try WireEncoder.string(Optional<Int>.none) == "null")
        #expect(try WireEncoder.string([1.5, 2]) == "[1.5,2]")
        #expect(try WireDecoder.decode([Date].self, from: Array(#"["2026-01-02T03:04:05.678Z"]"#.utf8)).count == 1)
    }

    func reason<T: Decodable>(_ type: T.Type, _ json: String) -> String {
        do {
            _ = try WireDecoder.decode(T.self, from: Array(json.utf8))
            return "decoded"
        } catch let error as DecodingError {
            return DecodingErrorDescription.describe(error)
        } catch {
            return "\(error)"
        }
    }

    @Test func errorsNameTheMemberAndTheRule() {
        let command = #"{"channel":"SMS","contact":"+1","status":"subscribed","occurredAt":"2026-11-23T00:00:00Z"}"#
        #expect(
            reason(
                SubscriptionCommandBatch.self,
                #"{"schemaVersion":1,"id":"b","spaceId":"s","source":"api","commands":["# + command + "]}")
                == "commands[0].id is required")
        #expect(
            reason(ExternalID.self, #"{"type":1,"id":"x"}"#)
                == "type: Expected to decode String but found a number instead.")
        #expect(reason(ExternalID.self, #"{"type":null,"id":"x"}"#) == "type must not be null")
        #expect(reason([Int].self, "[1, 2.5]") == "[1]: Parsed JSON number <2.5> is not an integer.")
        #expect(reason([Int8].self, "[300]") == "[0]: Parsed JSON number <300> does not fit in Int8.")
        #expect(reason([Date].self, #"["yesterday"]"#) == "[0]: not an ISO-8601 timestamp: yesterday")
        #expect(reason(SubscriptionChannel.self, #""FAX""#).contains("FAX"))
        #expect(reason(ExternalID.self, "{").hasPrefix("body: not valid JSON: expected a string key at byte 1"))
        #expect(reason([Int64].self, "[9007199254740993]") == "decoded")
    }
}
