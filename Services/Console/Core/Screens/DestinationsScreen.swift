import Hummingbird

/// Placeholder until the screen is built.
struct DestinationsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/destinations") { request, _ in
            let session = try console.session(request)
            return console.page(
                "placeholder", title: "Destinations", section: .destinations, session: session, request: request)
        }
    }
}
