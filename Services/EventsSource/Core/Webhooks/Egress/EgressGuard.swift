/// Applies the egress policy to destination URLs: when one is saved, and again on every delivery,
/// against what the host resolves to then. The delivery connects to the address checked here (see
/// `PinnedClients`), so a name that answers differently later (DNS rebinding) gains nothing.
struct EgressGuard: Sendable {
    let policy: EgressPolicy
    let resolver: any HostResolver

    /// At create and update: refuses a host that is, or now resolves to, an address not allowed.
    /// A name that does not resolve (yet) passes; delivery checks it again.
    func checkDestination(_ url: String) async throws(DestinationError) {
        let refused = DestinationError(
            "url: must reach a public address; loopback, private, link-local and reserved addresses are refused")
        guard let target = WebhookTarget(url: url) else {
            throw DestinationError("url: must be an absolute http or https URL")
        }
        if let literal = target.literal {
            guard policy.permits(literal) else { throw refused }
            return
        }
        if policy.allowsHost(target.host) { return }
        if EgressPolicy.isLocalName(target.host) { throw refused }
        guard let addresses = try? await resolver.addresses(of: target.host) else { return }
        guard addresses.allSatisfy(policy.permits) else { throw refused }
    }

    /// At delivery: the address to connect to, once every address the host resolves to passed.
    func address(for target: WebhookTarget) async throws(DeliveryFailure) -> IPAddress {
        if let literal = target.literal {
            guard policy.permits(literal) else { throw .addressNotAllowed }
            return literal
        }
        let allowedName = policy.allowsHost(target.host)
        if !allowedName && EgressPolicy.isLocalName(target.host) { throw .addressNotAllowed }
        guard let addresses = try? await resolver.addresses(of: target.host), let first = addresses.first else {
            throw .nameNotResolved
        }
        guard allowedName || addresses.allSatisfy(policy.permits) else { throw .addressNotAllowed }
        return first
    }
}
