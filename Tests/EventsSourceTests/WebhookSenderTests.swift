import NIOHTTP1
import Testing

@testable import EventsSourceCore

/// Calls as the delivery worker makes them, against a receiver on 127.0.0.1.
@Suite(.timeLimit(.minutes(1))) struct WebhookSenderTests {
    func makeSender(allowing allowList: String = "", _ resolver: FakeResolver = FakeResolver([:])) throws
        -> WebhookSender
    {
        WebhookSender(
            egress: EgressGuard(policy: try EgressPolicy(allowList: allowList), resolver: resolver),
            timeout: .seconds(2),
            connectionsPerHost: 2)
    }

    func post(_ sender: WebhookSender, _ url: String) async -> WebhookSender.Answer {
        await sender.post(url, headers: ["Content-Type": "application/json"], body: Array("{}".utf8))
    }

    @Test func aNameIsCalledAtTheAddressCheckedForIt() async throws {
        try await WebhookReceiver.run { receiver, port in
            // .test names do not resolve outside the fake: a 200 proves the call went to the checked address.
            let sender = try makeSender(allowing: "127.0.0.1", FakeResolver(["hooks.example.test": [["127.0.0.1"]]]))
            let answer = await post(sender, "http://hooks.example.test:\(port)/hooks")
            await sender.shutdown()
            #expect(answer.status == 200 && answer.failure == nil)
            #expect(receiver.hits.map(\.authority) == ["hooks.example.test:\(port)"])
        }
    }

    @Test func dnsRebindingIsRefusedAtDelivery() async throws {
        try await WebhookReceiver.run { receiver, port in
            // Public when the destination is saved, loopback when it is called.
            let resolver = FakeResolver(["rebind.example.test": [["93.184.216.34"], ["127.0.0.1"]]])
            let sender = try makeSender(resolver)
            let url = "http://rebind.example.test:\(port)/hooks"
            try await sender.egress.checkDestination(url)
            let answer = await post(sender, url)
            await sender.shutdown()
            #expect(answer.failure == .addressNotAllowed && answer.status == nil)
            #expect(resolver.questions == ["rebind.example.test", "rebind.example.test"])
            #expect(receiver.hits.isEmpty)
        }
    }

    @Test func internalAddressesAreNotConnectedTo() async throws {
        try await WebhookReceiver.run { receiver, port in
            let sender = try makeSender(FakeResolver(["mixed.example.test": [["93.184.216.34", "127.0.0.1"]]]))
            for url in [
                "http://127.0.0.1:\(port)/hooks", "http://2130706433:\(port)/hooks", "http://0x7f.1:\(port)/hooks",
                "http://[::ffff:127.0.0.1]:\(port)/hooks", "http://localhost:\(port)/hooks",
                "http://mixed.example.test:\(port)/hooks",
            ] {
                let answer = await post(sender, url)
                #expect(answer.failure == .addressNotAllowed, "\(url)")
            }
            await sender.shutdown()
            #expect(receiver.hits.isEmpty)
        }
    }

    @Test func redirectsAreNotFollowed() async throws {
        try await WebhookReceiver.run { receiver, port in
            let sender = try makeSender(allowing: "127.0.0.1")
            let answer = await post(sender, "http://127.0.0.1:\(port)/redirect")
            await sender.shutdown()
            #expect(answer.status == 302)
            #expect(receiver.hits.map(\.path) == ["/redirect"])
        }
    }

    @Test func anErrorAnswerYieldsItsStatusOnly() async throws {
        try await WebhookReceiver.run { receiver, port in
            let sender = try makeSender(allowing: "127.0.0.1")
            let answer = await post(sender, "http://127.0.0.1:\(port)/fail")
            await sender.shutdown()
            #expect(answer.status == 500 && answer.failure == nil)
            #expect(!String(describing: answer).contains(WebhookReceiver.internalBody))
        }
    }

    @Test func transportFailuresUseTheFixedVocabulary() async throws {
        let sender = try makeSender(allowing: "127.0.0.1", FakeResolver([:]))
        // Port 1 is closed: refused, reported like a filtered port would be.
        #expect(await post(sender, "http://127.0.0.1:1/hooks").failure == .connectionFailed)
        #expect(await post(sender, "http://nowhere.example.test/hooks").failure == .nameNotResolved)
        #expect(await post(sender, "ftp://127.0.0.1/hooks").failure == .invalidURL)
        await sender.shutdown()
    }

    @Test func idleClientsAreClosed() async throws {
        let clients = PinnedClients(configuration: .init(), idleAfter: .zero)
        let key = PinnedClients.Key(host: "hooks.example.test", address: IPAddress(literal: "127.0.0.1")!)
        _ = await clients.lease(key)
        await clients.closeIdle()
        #expect(await clients.count == 1, "a client in use stays")
        await clients.release(key)
        await clients.closeIdle()
        #expect(await clients.count == 0)
    }
}
