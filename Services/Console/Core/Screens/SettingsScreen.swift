import Hummingbird

/// Placeholder until the screen is built.
struct SettingsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/settings") { request, _ in
            let session = try console.session(request)
            return console.page(
                "placeholder", title: "Settings", section: .settings, session: session, request: request)
        }
    }
}
