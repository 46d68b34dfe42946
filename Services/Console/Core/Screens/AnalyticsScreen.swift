import Hummingbird

/// Placeholder until the screen is built.
struct AnalyticsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/analytics") { request, _ in
            let session = try console.session(request)
            return console.page(
                "placeholder", title: "Analytics", section: .analytics, session: session, request: request)
        }
    }
}
