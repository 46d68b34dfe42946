import Contracts
import Foundation
import Testing

/// The hand-written JSON of hot-path contracts must decode to the same value as the Codable form.
@Suite struct FastJSONTests {
    let at = Date(timeIntervalSince1970: 1_790_000_000.123)

    func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONDecoder.engage().decode(T.self, from: Data(json.utf8))
    }

    @Test func profileUpdateRoundTrips() throws {
        let update = ProfileUpdate(
            spaceId: "spa", profileId: "use_1", kind: .identifiersAdded, occurredAt: at, causedByMessageId: "m\"1",
            traits: ["plan": "pro", "n": 3], identifiers: [ExternalID(type: "email", id: "a@b.co")],
            mergedProfileIds: ["use_2"])
        #expect(try decode(ProfileUpdate.self, update.json) == update)
        let bare = ProfileUpdate(
            spaceId: "spa", profileId: "use_1", kind: .merged, occurredAt: at, causedByMessageId: nil)
        #expect(try decode(ProfileUpdate.self, bare.json) == bare)
    }

    @Test func commandBatchRoundTrips() throws {
        let batch = SubscriptionCommandBatch(
            id: "b", spaceId: "spa", source: .csv, origin: "csv-upload:u", correlationId: "u",
            commands: [
                SubscriptionCommand(
                    id: "c1", channel: .email, contact: "a@b.co", group: "News", status: .subscribed, occurredAt: at,
                    sequence: 7, reference: "7"),
                SubscriptionCommand(
                    id: "c2", channel: .sms, contact: "+14155550100", status: .didNotSubscribe, occurredAt: at),
            ])
        #expect(try decode(SubscriptionCommandBatch.self, batch.json) == batch)
    }

    @Test func changeRoundTripsWithExplicitNulls() throws {
        let change = SubscriptionChange(
            spaceId: "spa", channel: .email, contact: "a@b.co", group: nil, previousStatus: nil,
            status: .unsubscribed, source: .api, origin: nil, commandId: "c", occurredAt: at, recordedAt: at)
        #expect(try decode(SubscriptionChange.self, change.json) == change)
        let object = try JSONParser.parse(change.json.utf8)
        #expect(object["group"] == .null && object["previousStatus"] == .null && object["origin"] == .null)
        let encoded = try JSONParser.parse(JSONEncoder.engage().encode(change))
        #expect(encoded == object)
    }
}
