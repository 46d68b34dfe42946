import Hummingbird

/// Placeholder until the screen is built.
struct ProfilesScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/profiles") { request, _ in
            let session = try console.session(request)
            return console.page(
                "placeholder", title: "Profiles", section: .profiles, session: session, request: request)
        }
    }
}
