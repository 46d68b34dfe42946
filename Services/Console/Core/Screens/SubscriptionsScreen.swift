import Hummingbird

/// Placeholder until the screen is built.
struct SubscriptionsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/subscriptions") { request, _ in
            let session = try console.session(request)
            return console.page(
                "placeholder", title: "Subscriptions", section: .subscriptions, session: session, request: request)
        }
    }
}
