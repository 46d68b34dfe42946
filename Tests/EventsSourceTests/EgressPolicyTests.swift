import ServiceKit
import Testing

@testable import EventsSourceCore

@Suite struct EgressPolicyTests {
    let policy = try! EgressPolicy()

    @Test(arguments: [
        // IPv4 loopback in every form getaddrinfo takes: dotted, decimal, hex, octal, short
        "127.0.0.1", "127.255.255.254", "2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1", "017700000001",
        "0.0.0.0", "0", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "100.127.255.255",
        "169.254.169.254", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1", "192.0.2.1", "198.18.0.1",
        // IPv6, and IPv4 inside IPv6
        "::1", "[::1]", "::", "::ffff:127.0.0.1", "[::ffff:7f00:1]", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
        "::127.0.0.1",
        "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1", "2001:db8::1", "64:ff9b::7f00:1", "2002:7f00:1::1",
    ])
    func internalAddressesAreDeniedInEveryForm(_ text: String) throws {
        let address = try #require(IPAddress(literal: text))
        #expect(!policy.permits(address), "\(text) must be denied")
    }

    @Test(arguments: [
        "93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "11.0.0.1",
        "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::808:808", "2002:808:808::1",
    ])
    func publicAddressesArePermitted(_ text: String) throws {
        let address = try #require(IPAddress(literal: text))
        #expect(policy.permits(address), "\(text) must be permitted")
    }

    @Test func literalsReadAsTheAddressAConnectionWouldGoTo() {
        #expect(IPAddress(literal: "2130706433")?.description == "127.0.0.1")
        #expect(IPAddress(literal: "0x7f.1")?.description == "127.0.0.1")
        #expect(IPAddress(literal: "0177.0.0.01")?.description == "127.0.0.1")
        #expect(IPAddress(literal: "10.1")?.description == "10.0.0.1")
        #expect(IPAddress(literal: "[::ffff:127.0.0.1]")?.mappedIPv4?.description == "127.0.0.1")
        #expect(IPAddress(literal: "fe80::1")?.description == "fe80::1")
        for name in [
            "hooks.example.com", "256.0.0.1", "1.2.3.4.5", "0x", "1.2.3.", "+1.2.3.4", "08.0.0.1", "1.2.65536", "",
        ] {
            #expect(IPAddress(literal: name) == nil, "\(name) is not an address")
        }
    }

    @Test func theAllowListOpensAddressesBlocksAndNames() throws {
        let policy = try EgressPolicy(allowList: "127.0.0.1, 10.20.0.0/16 ,Hooks.Internal.,fd00:1::/32")
        #expect(policy.permits(IPAddress(literal: "127.0.0.1")!))
        #expect(policy.permits(IPAddress(literal: "::ffff:127.0.0.1")!))
        #expect(!policy.permits(IPAddress(literal: "127.0.0.2")!))
        #expect(!policy.permits(IPAddress(literal: "::1")!))
        #expect(policy.permits(IPAddress(literal: "10.20.3.4")!))
        #expect(!policy.permits(IPAddress(literal: "10.21.0.1")!))
        #expect(policy.permits(IPAddress(literal: "fd00:1:ffff::5")!))
        #expect(!policy.permits(IPAddress(literal: "fd00:2::5")!))
        #expect(policy.allowsHost("hooks.internal") && policy.allowsHost("HOOKS.internal."))
        #expect(!policy.allowsHost("other.internal"))
        #expect(!(try EgressPolicy()).allowsHost("hooks.internal"))
    }

    @Test(arguments: ["10.0.0.0/33", "http://hooks.example.com", "::1/129", "a b"])
    func aMalformedAllowListIsAConfigurationError(_ value: String) {
        #expect(throws: ServiceConfigError.self) { try EgressPolicy(allowList: value) }
    }
}
