import Contracts
import EngageClient
import Foundation
import HTTPTypes
import Hummingbird

/// `/journeys`: the space's journeys with their state and traffic, and a journey's page: its graph
/// (SVG drawn here, with each step's counts and problems), step forms and the JSON definition
/// beside them, validate and publish (a new version of a live journey maps its steps), pause,
/// resume, archive, versions and where a person is. Everything goes through the journeys API.
struct JourneysScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        let page = JourneyPage(console: console)
        let steps = JourneyStepRoutes(console: console, page: page)
        let lifecycle = JourneyLifecycleRoutes(console: console, page: page)
        router.get("/journeys") { request, _ in try await list(request) }
        router.post("/journeys") { request, _ in try await create(request) }
        router.get("/journeys/:id") { request, context in
            let session = try console.session(request)
            let data = try await JourneyData.load(console.client(session), id: try context.parameters.require("id"))
            return try await page.render(request, session, data)
        }
        // The graph alone, for the page's script to refresh the counts while the journey runs.
        router.get("/journeys/:id/graph") { request, context in
            let session = try console.session(request)
            let client = console.client(session)
            let data = try await JourneyData.load(
                client, id: try context.parameters.require("id"), audiences: false)
            let query = request.uri.queryParameters
            let profile = query.get("profile")?.trimmingCharacters(in: .whitespaces) ?? ""
            let lookup =
                profile.isEmpty ? nil : try await JourneyLookup.find(client, journeyId: data.id, identifier: profile)
            let version = query.get("version").flatMap(Int.init)
            return Response(
                status: .ok,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(
                    byteBuffer: ByteBuffer(
                        string: page.graph(data, version: version, lookup: lookup, problems: JourneyProblems()))))
        }
        steps.register(on: router)
        lifecycle.register(on: router)
    }

    private func list(
        _ request: Request, typed: FormFields? = nil, problems: [String] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let session = try console.session(request)
        let client = console.client(session)
        let answer = try await client.get(.journeys, "/journeys")
        let journeys = (JourneyData.parse(answer)?.arrayValue ?? []).compactMap(\.objectValue)
        // Each journey's totals come from its stats; a journey whose stats do not answer shows dashes.
        let totals = await withTaskGroup(of: (String, JSONValue?).self) { group in
            for journey in journeys {
                guard let id = journey["id"]?.stringValue else { continue }
                group.addTask {
                    let stats = try? await client.get(.journeys, "/journeys/\(EngageAPI.segment(id))/stats")
                    return (id, JourneyData.parse(stats))
                }
            }
            var totals: [String: JSONValue] = [:]
            for await (id, stats) in group { totals[id] = stats }
            return totals
        }
        let rows = journeys.map { journey -> [String: Any] in
            let id = journey["id"]?.stringValue ?? ""
            let status = journey["status"]?.stringValue ?? ""
            let stats = totals[id]
            func count(_ key: String) -> String { stats?[key]?.numberValue.map(JourneyText.number) ?? "–" }
            return [
                "href": JourneyPage.href(id), "name": journey["name"]?.stringValue ?? id, "status": status,
                "statusClass": ["published": "good", "paused": "warn", "archived": "bad"][status] ?? "",
                "version": journey["currentVersion"]?.numberValue.map(JourneyText.number) ?? "–",
                "entered": count("entered"), "active": count("active"),
                "updated": JourneyText.time(journey["updatedAt"]),
            ]
        }
        let audiences = JourneyData.parse(try? await client.get(.audiences, "/audiences"))?.arrayValue ?? []
        let form = typed ?? FormFields([("entryType", "event")])
        return console.page(
            "journeys-list", title: "Journeys", section: .journeys, session: session, request: request,
            values: [
                "journeys": rows, "hasJourneys": !rows.isEmpty,
                "new": [
                    "name": form.raw("name"), "event": form.raw("entryEvent"),
                    "audience": form.raw("entryAudience"), "isAudience": form["entryType"] == "audience",
                    "audienceOptions": audiences.compactMap { item -> [String: Any]? in
                        guard let id = item["id"]?.stringValue else { return nil }
                        return [
                            "value": id, "label": item["name"]?.stringValue ?? id,
                            "selected": id == form["entryAudience"],
                        ]
                    },
                    "hasAudiences": !audiences.isEmpty,
                ],
            ], status: answer.ok ? status : .badGateway, problems: answer.ok ? problems : answer.problems + problems)
    }

    private func create(_ request: Request) async throws -> Response {
        let session = try console.session(request)
        let form = try await console.form(request, session)
        guard let name = form["name"] else {
            return try await list(
                request, typed: form, problems: ["Give the journey a name."], status: .unprocessableContent)
        }
        var entry: [String: JSONValue]
        if form["entryType"] == "audience" {
            guard let audience = form["entryAudience"] else {
                return try await list(
                    request, typed: form, problems: ["Choose the audience whose new members enter the journey."],
                    status: .unprocessableContent)
            }
            entry = ["type": "audience", "audienceId": .string(audience)]
        } else {
            guard let event = form["entryEvent"] else {
                return try await list(
                    request, typed: form, problems: ["Name the event that starts the journey (such as Product Added)."],
                    status: .unprocessableContent)
            }
            entry = ["type": "event", "event": .string(event)]
        }
        let body: JSONValue = [
            "name": .string(name), "definition": ["entry": .object(entry), "reentry": ["mode": "once"], "steps": []],
        ]
        let answer = try await console.client(session).send(
            .POST, .journeys, "/journeys", body: .json(Data(body.json.utf8)))
        guard answer.ok, let id = JourneyData.parse(answer)?["id"]?.stringValue else {
            return try await list(request, typed: form, problems: answer.problems, status: .unprocessableContent)
        }
        return console.redirect(JourneyPage.href(id), notice: "Journey “\(name)” created. Add its first step.")
    }
}
