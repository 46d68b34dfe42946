import Foundation

/// The host and port a destination URL makes AsyncHTTPClient connect to, read the way it reads
/// them (`URL.host`, brackets trimmed), so that what is checked is what is called.
struct WebhookTarget: Sendable {
    var host: String
    var port: Int
    /// Set when the host is an address literal in any form (`[::1]`, `2130706433`).
    var literal: IPAddress?

    init?(url text: String) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            var host = url.host, !host.isEmpty
        else { return nil }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        // A percent-escape or a zone id in a host is not something a webhook receiver needs.
        guard !host.contains("%") else { return nil }
        self.host = host
        port = url.port ?? (scheme == "https" ? 443 : 80)
        literal = IPAddress(literal: host)
    }
}
