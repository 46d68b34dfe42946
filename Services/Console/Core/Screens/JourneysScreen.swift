import Hummingbird

/// Placeholder until the screen is built.
struct JourneysScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/journeys") { request, _ in
            let session = try console.session(request)
            return console.page(
                "placeholder", title: "Journeys", section: .journeys, session: session, request: request)
        }
    }
}
