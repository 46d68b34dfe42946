import Hummingbird

/// Placeholder until the screen is built.
struct TemplatesScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/templates") { request, _ in
            let session = try console.session(request)
            return console.page(
                "placeholder", title: "Templates", section: .templates, session: session, request: request)
        }
    }
}
