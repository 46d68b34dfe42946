import AsyncHTTPClient

/// HTTP clients that connect a host name to one checked address. AsyncHTTPClient 1.37 has no
/// resolver hook and no per-request override; its `dnsOverride` (client-wide) makes the client
/// connect to the given address while sending the name in `Host`, in TLS SNI and for certificate
/// checks. So there is one client per (host, checked address): a host whose DNS answer changes
/// gets a new client, and an idle one is shut down by `closeIdle`.
actor PinnedClients {
    struct Key: Hashable {
        var host: String
        var address: IPAddress
    }

    private struct Entry {
        var client: HTTPClient
        var inFlight = 0
        var lastUsed = ContinuousClock.now
    }

    private let configuration: HTTPClient.Configuration
    private let idleAfter: Duration
    private var entries: [Key: Entry] = [:]

    /// `configuration` is used for every client, with redirects always off: a redirect would go
    /// to a host nobody checked.
    init(configuration: HTTPClient.Configuration, idleAfter: Duration = .seconds(120)) {
        var configuration = configuration
        configuration.redirectConfiguration = .disallow
        self.configuration = configuration
        self.idleAfter = idleAfter
    }

    /// The client for `key`; give it back with `release`.
    func lease(_ key: Key) -> HTTPClient {
        var entry = entries[key] ?? Entry(client: makeClient(key))
        entry.inFlight += 1
        entry.lastUsed = .now
        entries[key] = entry
        return entry.client
    }

    func release(_ key: Key) {
        entries[key]?.inFlight -= 1
        entries[key]?.lastUsed = .now
    }

    var count: Int { entries.count }

    /// Shuts down the clients nobody used for `idleAfter`.
    func closeIdle() async {
        let now = ContinuousClock.now
        let idle = entries.filter { $0.value.inFlight == 0 && now - $0.value.lastUsed >= idleAfter }
        for key in idle.keys { entries[key] = nil }
        for entry in idle.values { try? await entry.client.shutdown() }
    }

    func shutdown() async {
        let all = entries.values
        entries = [:]
        for entry in all { try? await entry.client.shutdown() }
    }

    private func makeClient(_ key: Key) -> HTTPClient {
        var configuration = configuration
        configuration.dnsOverride = [key.host: key.address.description]
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
