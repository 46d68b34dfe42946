import Contracts
import Foundation
import Testing

@testable import ProfilesCore

@Suite struct AccountChangesTests {
    let now = Date(timeIntervalSince1970: 1_795_348_800)

    func group(
        _ id: String, _ groupId: String, at offset: TimeInterval, traits: [String: JSONValue] = [:],
        space: String = "spa_1"
    ) -> IncomingMessage {
        IncomingMessage(
            spaceId: space, sourceId: "src_1",
            message: SegmentMessage(
                type: .group, messageId: id, userId: "u", groupId: groupId, traits: traits,
                timestamp: now.addingTimeInterval(offset), receivedAt: now))
    }

    @Test func groupCallsMakeOneAccountPerSpaceAndGroupIdWithFirstAndLastMessages() {
        let changes = AccountChanges([
            (group("m1", "acme", at: 0), "use_a"), (group("m2", "acme", at: 1), "use_b"),
            (group("m3", "acme", at: 2, space: "spa_2"), "use_c"),
        ])
        #expect(
            changes.accounts.map(\.key) == [
                .init(spaceId: "spa_1", groupId: "acme"),
                .init(spaceId: "spa_2", groupId: "acme"),
            ])
        #expect(changes.accounts.map(\.firstMessageId) == ["m1", "m3"])
        #expect(changes.accounts.map(\.lastMessageId) == ["m2", "m3"])
        #expect(changes.links.map(\.profileId) == ["use_a", "use_b", "use_c"])
    }

    @Test func aUserIsLinkedOnceByItsFirstCall() {
        let changes = AccountChanges([(group("m1", "acme", at: 0), "use_a"), (group("m2", "acme", at: 1), "use_a")])
        #expect(changes.links.map(\.messageId) == ["m1"])
    }

    @Test func theNewestTimestampWinsEachTraitWhateverTheOrder() {
        let changes = AccountChanges([
            (group("m1", "acme", at: 10, traits: ["plan": "pro", "name": "Acme"]), "use_a"),
            (group("m2", "acme", at: 5, traits: ["plan": "trial"]), "use_b"),
        ])
        let traits = Dictionary(uniqueKeysWithValues: changes.traitWrites.map { ($0.name, $0.valueJSON) })
        #expect(traits == ["name": "\"Acme\"", "plan": "\"pro\""])
    }

    @Test func otherCallsAndBlockedGroupIdsNameNoAccount() {
        let identify = IncomingMessage(
            spaceId: "spa_1", sourceId: "src_1",
            message: SegmentMessage(
                type: .identify, messageId: "m0", userId: "u", groupId: "acme", timestamp: now, receivedAt: now))
        let changes = AccountChanges([
            (identify, "use_a"), (group("m1", "null", at: 0), "use_a"),
            (group("m2", "0", at: 0), "use_a"),
        ])
        #expect(changes.isEmpty && changes.links.isEmpty && changes.traitWrites.isEmpty)
    }
}
