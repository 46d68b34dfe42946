import Hummingbird

/// The start page: where a new space begins (seed 000's order: channels, a template, an audience,
/// a journey), and what the space has so far.
struct HomeScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/") { request, _ in
            let session = try console.session(request)
            let client = console.client(session)
            async let templates = try? client.get(.messaging, "/templates")
            async let audiences = try? client.get(.audiences, "/audiences")
            async let journeys = try? client.get(.journeys, "/journeys")
            let counts = await [
                ("Templates", "/templates", templates?.dataList.count),
                ("Audiences", "/audiences", audiences?.dataList.count),
                ("Journeys", "/journeys", journeys?.dataList.count),
            ]
            return console.page(
                "home", title: "Overview", section: nil, session: session, request: request,
                values: [
                    "counts": counts.map { ["label": $0.0, "href": $0.1, "count": $0.2.map(String.init) ?? "–"] }
                ])
        }
    }
}
