import Hummingbird

/// Placeholder until the screen is built.
struct AudiencesScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/audiences") { request, _ in
            let session = try console.session(request)
            return console.page(
                "placeholder", title: "Audiences", section: .audiences, session: session, request: request)
        }
    }
}
