import Hummingbird

/// Placeholder until the screen is built.
struct BroadcastsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/broadcasts") { request, _ in
            let session = try console.session(request)
            return console.page(
                "placeholder", title: "Broadcasts", section: .broadcasts, session: session, request: request)
        }
    }
}
