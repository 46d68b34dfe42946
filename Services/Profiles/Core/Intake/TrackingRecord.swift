import Contracts
import Foundation
import Kafka

/// The tracking topic's record format, shared by the tracking API (which writes it) and the intake
/// consumer (which reads it, also from internal systems):
/// - value: one Segment-spec message as JSON (the body of `/v1/track` etc., with `type` set);
/// - headers: `source-id` (a source's id) or `write-key` (its write key), or `writeKey` in the body;
/// - key: the message's userId, else its anonymousId (keeps one person's messages in order).
public enum TrackingRecord {
    public static func make(_ message: SegmentMessage, source: SourceRef) throws -> OutgoingRecord {
        OutgoingRecord(
            topic: Topic.tracking, key: message.userId ?? message.anonymousId,
            value: try WireEncoder.encode(message, capacity: 1024),
            headers: [(Header.sourceId, source.sourceId), (Header.spaceId, source.spaceId)])
    }

    /// Parses a JSON body into an object, with a precise reason when it is not one.
    public static func parseObject(_ bytes: some Collection<UInt8>) throws(InvalidMessage) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw InvalidMessage("malformed JSON: \(error)")
        }
        guard case .object(let object) = value else { throw InvalidMessage("the body must be a JSON object") }
        return object
    }
}
