import Hummingbird

/// Placeholder until the screen is built.
struct ChannelsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/channels") { request, _ in
            let session = try console.session(request)
            return console.page(
                "placeholder", title: "Channels", section: .channels, session: session, request: request)
        }
    }
}
