import Foundation
import ServiceKit

/// Which addresses webhook deliveries may reach: public unicast only by default, so that a space
/// owner cannot make this service call (and read answers from) its own network: loopback, private,
/// link-local (cloud metadata at 169.254.169.254), CGNAT, multicast, reserved. The operator can
/// allow more with `ENGAGE_WEBHOOK_ALLOWED_HOSTS`: addresses, CIDR blocks or host names.
public struct EgressPolicy: Sendable {
    /// Checked after unwrapping IPv4-mapped IPv6, so `::ffff:127.0.0.1` counts as `127.0.0.1`.
    static let deniedRanges: [IPRange] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",  // 240/4 holds 255.255.255.255, broadcast
        "::/96",  // unspecified, loopback and the deprecated IPv4-compatible form
        "::ffff:0:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:2::/48", "2001:db8::/32", "3fff::/20",
        "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    ].map { IPRange($0)! }

    let allowedRanges: [IPRange]
    /// Lower case, without a trailing dot.
    let allowedHosts: Set<String>

    /// `allowList`: the value of `ENGAGE_WEBHOOK_ALLOWED_HOSTS`, comma-separated addresses, CIDR
    /// blocks and host names.
    public init(allowList: String = "") throws {
        var ranges: [IPRange] = []
        var hosts: Set<String> = []
        for item in allowList.split(separator: ",") {
            let entry = item.trimmingCharacters(in: .whitespaces)
            guard !entry.isEmpty else { continue }
            if let range = IPRange(entry) {
                ranges.append(range)
            } else if let host = Self.hostName(entry) {
                hosts.insert(host)
            } else {
                throw ServiceConfigError(
                    "ENGAGE_WEBHOOK_ALLOWED_HOSTS: \"\(entry)\" is not an address, a CIDR block or a host name")
            }
        }
        allowedRanges = ranges
        allowedHosts = hosts
    }

    /// An operator-allowed name: any address it resolves to may be called (it trusts that name's DNS).
    func allowsHost(_ host: String) -> Bool {
        Self.hostName(host).map(allowedHosts.contains) ?? false
    }

    func permits(_ address: IPAddress) -> Bool {
        if let v4 = address.mappedIPv4 { return permits(v4) }
        if allowedRanges.contains(where: { $0.contains(address) }) { return true }
        if Self.deniedRanges.contains(where: { $0.contains(address) }) { return false }
        if let inner = address.embeddedIPv4 { return permits(inner) }
        return true
    }

    /// `localhost` and its subdomains are loopback by definition (RFC 6761), whatever DNS says.
    static func isLocalName(_ host: String) -> Bool {
        guard let name = hostName(host) else { return false }
        return name == "localhost" || name.hasSuffix(".localhost")
    }

    private static func hostName(_ text: String) -> String? {
        var name = text.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        guard !name.isEmpty,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") })
        else { return nil }
        return name
    }
}
