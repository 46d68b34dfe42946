import Contracts
import Foundation
import Testing

@testable import SubscriptionsCore

@Suite struct CommandDecodingTests {
    func decode(_ json: String) throws(InvalidMessage) -> SubscriptionCommandBatch {
        try CommandConsumer.decode(Array(json.utf8))
    }

    let command =
        #"{"id":"c1","channel":"SMS","contact":"+14155550100","status":"unsubscribed","occurredAt":"2026-11-23T00:00:00Z","sequence":0}"#

    @Test func aValidBatchDecodes() throws {
        let batch = try decode(
            #"{"schemaVersion":1,"id":"b","spaceId":"spa","source":"inbound_reply","commands":["# + command + "]}")
        #expect(batch.commands.first?.channel == .sms)
        #expect(batch.source == .inboundReply)
    }

    @Test func recordsThatCannotBeAppliedAreRefusedWithTheReason() {
        let cases: [(String, String)] = [
            ("", "empty record"),
            (#"{"schemaVersion":1,"spaceId":"spa","source":"api","commands":[]}"#, "id is required"),
            (#"{"schemaVersion":2,"id":"b","spaceId":"spa","source":"api","commands":[]}"#, "schemaVersion 2"),
            (#"{"schemaVersion":1,"id":"b","spaceId":"spa","source":"telepathy","commands":[]}"#, "source"),
            (#"{"schemaVersion":1,"id":"b\u0000","spaceId":"spa","source":"api","commands":[]}"#, "NUL"),
        ]
        for (json, reason) in cases {
            do {
                _ = try decode(json)
                Issue.record("accepted \(json)")
            } catch {
                #expect(error.reason.contains(reason), "\(error.reason) does not mention \(reason)")
            }
        }
    }
}
