import Contracts
import Foundation
import Synchronization
import Testing

@testable import ProfilesCore

@Suite struct IdentityGraphTests {
    let extractor = IdentifierExtractor(rules: IdentifierRule.defaults)
    let now = Date(timeIntervalSince1970: 1_795_348_800)

    /// Profile ids p1, p2, ... in creation order.
    func makeGraph(_ profiles: [IdentityGraph.Profile] = []) -> IdentityGraph {
        let counter = Mutex(0)
        return IdentityGraph(profiles: profiles) {
            let next = counter.withLock { value -> Int in
                value += 1
                return value
            }
            return "p\(next)"
        }
    }

    func ids(_ pairs: (String, String)...) -> [Identifier] {
        pairs.map { Identifier(type: $0.0, value: $0.1) }.sorted(by: extractor.order)
    }

    @Test func unknownIdentifiersCreateAProfile() {
        var graph = makeGraph()
        let result = graph.resolve(ids(("anonymous_id", "a1")), extractor: extractor, now: now)
        #expect(result.created)
        #expect(result.profileId == "p1")
        #expect(graph.owners[Identifier(type: "anonymous_id", value: "a1")] == "p1")
    }

    @Test func aKnownIdentifierAddsTheOthersToItsProfile() {
        var graph = makeGraph()
        _ = graph.resolve(ids(("anonymous_id", "a1")), extractor: extractor, now: now)
        let result = graph.resolve(
            ids(("anonymous_id", "a1"), ("user_id", "u1"), ("email", "ada@example.com")), extractor: extractor, now: now
        )
        #expect(!result.created)
        #expect(result.profileId == "p1")
        #expect(Set(result.added) == Set(ids(("user_id", "u1"), ("email", "ada@example.com"))))
    }

    @Test func identifiersOfTwoProfilesMergeThemIntoTheOlder() {
        var graph = makeGraph()
        _ = graph.resolve(ids(("anonymous_id", "a1"), ("user_id", "u1")), extractor: extractor, now: now)
        _ = graph.resolve(
            ids(("anonymous_id", "a2"), ("email", "ada@example.com")), extractor: extractor,
            now: now.addingTimeInterval(1))
        let result = graph.resolve(
            ids(("user_id", "u1"), ("email", "ada@example.com")), extractor: extractor, now: now.addingTimeInterval(2))
        #expect(result.profileId == "p1")
        #expect(result.merged == ["p2"])
        #expect(graph.canonical("p2") == "p1")
        #expect(graph.owners[Identifier(type: "anonymous_id", value: "a2")] == "p1")
        #expect(graph.profiles["p2"] == nil)
    }

    @Test func aSecondUserIdDoesNotMergeWhenTheLimitIsOne() {
        var graph = makeGraph()
        _ = graph.resolve(ids(("anonymous_id", "shared-device"), ("user_id", "alice")), extractor: extractor, now: now)
        // Bob logs in on Alice's device: user_id limit 1 forbids joining them, so the lower-priority
        // anonymous_id is dropped and Bob gets his own profile.
        let result = graph.resolve(
            ids(("anonymous_id", "shared-device"), ("user_id", "bob")), extractor: extractor, now: now)
        #expect(result.created)
        #expect(result.profileId == "p2")
        #expect(result.dropped == ids(("anonymous_id", "shared-device")))
        #expect(graph.owners[Identifier(type: "user_id", value: "bob")] == "p2")
        #expect(graph.owners[Identifier(type: "anonymous_id", value: "shared-device")] == "p1")
    }

    @Test func aMergeThatWouldBreakALimitDropsTheLowestPriorityIdentifier() {
        var graph = makeGraph()
        _ = graph.resolve(ids(("user_id", "alice"), ("email", "alice@example.com")), extractor: extractor, now: now)
        _ = graph.resolve(ids(("user_id", "bob"), ("phone", "+15550001")), extractor: extractor, now: now)
        // Names both people: email (priority 2) outranks phone (priority 4), so phone is dropped.
        let result = graph.resolve(
            ids(("email", "alice@example.com"), ("phone", "+15550001")), extractor: extractor, now: now)
        #expect(result.profileId == "p1")
        #expect(result.merged.isEmpty)
        #expect(result.dropped == ids(("phone", "+15550001")))
    }

    @Test func windowedLimitsCountOnlyRecentValues() {
        let old = now.addingTimeInterval(-30 * 86_400)
        let identifiers = Dictionary(
            uniqueKeysWithValues: (1...5).map { (Identifier(type: "anonymous_id", value: "old\($0)"), old) })
        var graph = makeGraph([
            IdentityGraph.Profile(
                id: "p0", createdAt: old,
                identifiers: identifiers.merging([Identifier(type: "user_id", value: "u"): old]) { a, _ in a })
        ])
        // Five anonymous ids a month old do not count against "5 weekly".
        let result = graph.resolve(ids(("user_id", "u"), ("anonymous_id", "new")), extractor: extractor, now: now)
        #expect(result.profileId == "p0")
        #expect(result.added == ids(("anonymous_id", "new")))
        #expect(result.dropped.isEmpty)
    }

    @Test func extractorSkipsBlockedValuesAndNormalisesEmail() {
        let message = SegmentMessage(
            type: .identify, messageId: "m", userId: "0000", anonymousId: "anon-1",
            traits: ["email": " Ada@Example.COM ", "phone": "null"], timestamp: now, receivedAt: now)
        #expect(extractor.identifiers(of: message) == ids(("anonymous_id", "anon-1"), ("email", "ada@example.com")))
        for blocked in [
            "", "null", "undefined", "anonymous", "-1", "0", "000-000", "NULL", " Anonymous\t",
            "0000-0000-0000", " 0000000000 ", "\u{00A0}00000000000\u{00A0}",
        ] {
            #expect(Identifier.isBlocked(blocked), "\(blocked)")
        }
        for kept in ["0a", "user-12345678", "00000000000a", " 0000000000x", "\u{00A0}user-12345678"] {
            #expect(!Identifier.isBlocked(kept), "\(kept)")
        }
    }

    @Test func customIdentifiersComeFromTheirTraitKeyAndFromExternalIds() {
        let custom = IdentifierExtractor(
            rules: IdentifierRule.defaults + [
                IdentifierRule(type: "crm_id", priority: 5, limit: 1, source: .trait("crmId"))
            ])
        let message = SegmentMessage(
            type: .identify, messageId: "m", anonymousId: "a", traits: ["crmId": 77],
            context: [
                "externalIds": [
                    ["id": "ios-1", "type": "IOS.ID", "collection": "users", "encoding": "none"],
                    ["id": "acct-1", "type": "group_id", "collection": "accounts", "encoding": "none"],
                ]
            ],
            timestamp: now, receivedAt: now)
        let found = custom.identifiers(of: message)
        #expect(found.contains(Identifier(type: "crm_id", value: "77")))
        #expect(found.contains(Identifier(type: "ios.id", value: "ios-1")))
        #expect(!found.contains { $0.type == "group_id" })
    }

    @Test func phoneReadFromAConfiguredTraitKeyIsTheBuiltInPhone() {
        let rules =
            IdentifierRule.defaults.filter { $0.type != "phone" }
            + [IdentifierRule(type: "phone", priority: 4, limit: 5, source: .trait("phone_number"))]
        let onboarding = IdentifierExtractor(rules: rules)
        func phones(_ traits: [String: JSONValue]) -> [String] {
            let message = SegmentMessage(
                type: .identify, messageId: "m", userId: "u", traits: traits,
                timestamp: now, receivedAt: now)
            return onboarding.identifiers(of: message).filter { $0.type == "phone" }.map(\.value)
        }
        #expect(phones(["phone_number": "+1 (415) 555-0100"]) == ["+14155550100"])
        #expect(phones(["phone": "+14155550101"]) == ["+14155550101"])  // its own key still counts
        #expect(phones(["phone_number": "+14155550100", "phone": "+14155550101"]) == ["+14155550100"])
        #expect(phones(["phone_number": "null"]).isEmpty)
    }

    @Test func aGroupCallsTraitsDescribeTheAccountNotThePerson() {
        let message = SegmentMessage(
            type: .group, messageId: "m", anonymousId: "a", groupId: "acme",
            traits: ["email": "billing@acme.example"],
            context: ["traits": ["email": "ada@acme.example"]],
            timestamp: now, receivedAt: now)
        #expect(extractor.identifiers(of: message).filter { $0.type == "email" }.map(\.value) == ["ada@acme.example"])
    }

    @Test func aliasReadsPreviousIdAsTheRequestedType() {
        let message = SegmentMessage(
            type: .alias, messageId: "m", userId: "new-user", previousId: "old-id", timestamp: now, receivedAt: now)
        #expect(extractor.identifiers(of: message).contains(Identifier(type: "anonymous_id", value: "old-id")))
        #expect(
            extractor.identifiers(of: message, aliasPreviousType: "user_id").contains(
                Identifier(type: "user_id", value: "old-id")))
    }
}

@Suite struct IdentityCapTests {
    let extractor = IdentifierExtractor(
        rules: IdentifierRule.defaults + [IdentifierRule(type: "device", priority: 9, limit: 5_000, source: .builtIn)])
    let now = Date(timeIntervalSince1970: 1_795_334_400)

    @Test func pastOneHundredMergesNothingMoreIsJoined() {
        let old = now.addingTimeInterval(-60)
        let hub = IdentityGraph.Profile(
            id: "hub", createdAt: old, identifiers: [Identifier(type: "email", value: "shared@example.com"): old],
            mergeCount: IdentityGraph.maxMerges)
        let other = IdentityGraph.Profile(
            id: "other", createdAt: now, identifiers: [Identifier(type: "device", value: "d1"): now])
        var graph = IdentityGraph(profiles: [hub, other]) { "new" }
        let result = graph.resolve(
            [Identifier(type: "email", value: "shared@example.com"), Identifier(type: "device", value: "d1")],
            extractor: extractor, now: now)
        #expect(result.profileId == "hub")
        #expect(result.merged.isEmpty)
        #expect(result.dropped == [Identifier(type: "device", value: "d1")])
        #expect(graph.owners[Identifier(type: "device", value: "d1")] == "other")
    }

    @Test func mergesAddUpTheirCounts() {
        let a = IdentityGraph.Profile(
            id: "a", createdAt: now, identifiers: [Identifier(type: "device", value: "x"): now], mergeCount: 3)
        let b = IdentityGraph.Profile(
            id: "b", createdAt: now.addingTimeInterval(1), identifiers: [Identifier(type: "device", value: "y"): now],
            mergeCount: 2)
        var graph = IdentityGraph(profiles: [a, b]) { "new" }
        let result = graph.resolve(
            [Identifier(type: "device", value: "x"), Identifier(type: "device", value: "y")], extractor: extractor,
            now: now)
        #expect(result.merged == ["b"])
        #expect(graph.profiles["a"]?.mergeCount == 6)
    }

    @Test func pastOneThousandIdentifiersNothingMoreIsAttached() {
        let identifiers = Dictionary(
            uniqueKeysWithValues: (0..<IdentityGraph.maxIdentifiers).map {
                (Identifier(type: "device", value: "d\($0)"), now)
            })
        var graph = IdentityGraph(profiles: [
            IdentityGraph.Profile(id: "full", createdAt: now, identifiers: identifiers)
        ]) { "new" }
        let result = graph.resolve(
            [Identifier(type: "device", value: "d0"), Identifier(type: "device", value: "one-more")],
            extractor: extractor, now: now)
        #expect(result.profileId == "full")
        #expect(result.added.isEmpty)
        #expect(result.dropped == [Identifier(type: "device", value: "one-more")])
    }
}
