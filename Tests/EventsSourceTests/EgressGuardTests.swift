import Testing

@testable import EventsSourceCore

/// Destination URLs as the API checks them on create and update.
@Suite struct EgressGuardTests {
    let resolver = FakeResolver([
        "public.example.test": [["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]],
        "internal.example.test": [["10.0.0.5"]],
        "metadata.example.test": [["169.254.169.254"]],
        "mixed.example.test": [["93.184.216.34", "127.0.0.1"]],
        "six.example.test": [["2606:4700::1", "::1"]],
    ])

    func egress(allowing allowList: String = "") throws -> EgressGuard {
        EgressGuard(policy: try EgressPolicy(allowList: allowList), resolver: resolver)
    }

    @Test(arguments: [
        "http://127.0.0.1/x", "http://2130706433/", "http://0x7f.0.0.1/", "http://0x7f000001/", "http://0177.0.0.1/",
        "http://127.1:5432/", "http://[::1]:8081/admin/spaces", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
        "http://[::]/", "http://0.0.0.0:8086/", "http://localhost:5432/", "http://LOCALHOST./", "http://api.localhost/",
        "http://169.254.169.254/latest/meta-data/", "https://10.0.0.5/", "https://192.168.0.10:8443/",
        "http://[fe80::1]/", "http://[fd00::1]/", "http://100.64.1.1/", "http://224.0.0.1/", "http://255.255.255.255/",
        // names whose answer holds a denied address, even next to a public one
        "https://internal.example.test/hook", "https://metadata.example.test/", "https://mixed.example.test/",
        "https://six.example.test/",
    ])
    func internalDestinationsAreRefused(_ url: String) async throws {
        let egress = try egress()
        await #expect(throws: DestinationError.self, "\(url) must be refused") {
            try await egress.checkDestination(url)
        }
    }

    @Test func publicAndNotYetResolvableDestinationsAreAccepted() async throws {
        let egress = try egress()
        try await egress.checkDestination("https://public.example.test/hook")
        try await egress.checkDestination("https://93.184.216.34:8443/hook")
        try await egress.checkDestination("https://[2606:4700::1111]/hook")
        // Delivery resolves and checks it again, so a name without an answer yet is no risk.
        try await egress.checkDestination("https://not-yet.example.test/hook")
        #expect(resolver.questions.contains("public.example.test"))
    }

    @Test func theOperatorsAllowListOpensWhatItNamesOnly() async throws {
        let egress = try egress(allowing: "127.0.0.1,internal.example.test")
        try await egress.checkDestination("http://127.0.0.1:8080/hooks")
        try await egress.checkDestination("http://[::ffff:127.0.0.1]:8080/hooks")
        try await egress.checkDestination("https://internal.example.test/hook")
        await #expect(throws: DestinationError.self) { try await egress.checkDestination("http://[::1]:8080/hooks") }
        await #expect(throws: DestinationError.self) { try await egress.checkDestination("http://127.0.0.2/hooks") }
        await #expect(throws: DestinationError.self) { try await egress.checkDestination("http://localhost/hooks") }
    }
}
