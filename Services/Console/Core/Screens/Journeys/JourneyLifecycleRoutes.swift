import Contracts
import EngageClient
import Foundation
import Hummingbird

/// Validate, publish (with the step mapping form when a version is already live), pause, resume
/// and archive. Problems the journeys API names are shown at their steps, on the graph and in the
/// step list; a refused publish publishes nothing.
struct JourneyLifecycleRoutes: Sendable {
    let console: Console
    let page: JourneyPage

    func register(on router: Router<some RequestContext>) {
        router.post("/journeys/:id/validate") { request, context in
            let session = try console.session(request)
            _ = try await console.form(request, session)
            let client = console.client(session)
            let data = try await JourneyData.load(client, id: try context.parameters.require("id"))
            let answer = try await client.send(.POST, .journeys, "/journeys/\(EngageAPI.segment(data.id))/validate")
            guard answer.ok, let result = JourneyData.parse(answer) else {
                return try await page.render(
                    request, session, data, .init(pageProblems: answer.problems, status: .unprocessableContent))
            }
            let problems = (result["problems"]?.arrayValue ?? []).compactMap(\.stringValue)
            var state = JourneyPage.State(problems: JourneyProblems(problems, draft: data.draft))
            if problems.isEmpty { state.message = "No problems: the draft is ready to publish." }
            return try await page.render(request, session, data, state)
        }
        router.get("/journeys/:id/publish") { request, context in
            let session = try console.session(request)
            let data = try await JourneyData.load(console.client(session), id: try context.parameters.require("id"))
            guard data.currentVersion != nil, !data.isArchived else {
                return console.redirect(JourneyPage.href(data.id))
            }
            return mappingPage(request, session, data, chosen: [:])
        }
        router.post("/journeys/:id/publish") { request, context in
            try await publish(request, id: try context.parameters.require("id"))
        }
        for (action, done) in [("pause", "paused"), ("resume", "resumed"), ("archive", "archived")] {
            router.post("/journeys/:id/\(action)") { request, context in
                let session = try console.session(request)
                _ = try await console.form(request, session)
                let client = console.client(session)
                let id = try context.parameters.require("id")
                let answer = try await client.send(.POST, .journeys, "/journeys/\(EngageAPI.segment(id))/\(action)")
                guard answer.ok else {
                    let data = try await JourneyData.load(client, id: id)
                    return try await page.render(
                        request, session, data, .init(pageProblems: answer.problems, status: .conflict))
                }
                let notice =
                    action == "archive"
                    ? "Journey archived: every pass still running has ended." : "Journey \(done)."
                return console.redirect(JourneyPage.href(id), notice: notice)
            }
        }
    }

    private func publish(_ request: Request, id: String) async throws -> Response {
        let session = try console.session(request)
        let form = try await console.form(request, session)
        let client = console.client(session)
        let data = try await JourneyData.load(client, id: id)
        var mapping: [String: JSONValue] = [:]
        var chosen: [String: String] = [:]
        for index in 0..<(form.int("rows") ?? 0) {
            guard let from = form["from\(index)"] else { continue }
            chosen[from] = form["to\(index)"] ?? ""
            if let to = form["to\(index)"] { mapping[from] = .string(to) }
        }
        let body: JSONValue = mapping.isEmpty ? .object([:]) : ["stepMapping": .object(mapping)]
        let answer = try await client.send(
            .POST, .journeys, "/journeys/\(EngageAPI.segment(id))/publish", body: .json(Data(body.json.utf8)))
        if answer.ok {
            let version = JourneyData.parse(answer)?["currentVersion"]?.numberValue.map(JourneyText.number) ?? ""
            return console.redirect(JourneyPage.href(id) + "#journey-graph", notice: "Version \(version) published.")
        }
        let problems = ((try? JSONParser.parse(Array(answer.body)))?["problems"]?.arrayValue ?? []).compactMap(
            \.stringValue)
        guard answer.status == 422, !problems.isEmpty else {
            return try await page.render(
                request, session, data, .init(pageProblems: answer.problems, status: .unprocessableContent))
        }
        // A wrong mapping goes back to the mapping form; the draft's problems to their steps.
        if problems.allSatisfy({ $0.hasPrefix("stepMapping") }) {
            return mappingPage(request, session, data, chosen: chosen, problems: problems)
        }
        var state = JourneyPage.State(
            problems: JourneyProblems(problems, draft: data.draft), status: .unprocessableContent)
        state.message = "Nothing was published: fix the problems shown at their steps, then publish again."
        state.messageWarns = true
        return try await page.render(request, session, data, state)
    }

    /// Publishing over a live version: where the profiles waiting on each of its steps go.
    private func mappingPage(
        _ request: Request, _ session: ConsoleSession, _ data: JourneyData, chosen: [String: String],
        problems: [String] = []
    ) -> Response {
        let current = data.currentVersion ?? 0
        let old = JourneyDraft(data.version(current)?["definition"])
        let counts = data.counts(version: current)
        let rows = old.steps.enumerated().compactMap { index, step -> [String: Any]? in
            guard let stepId = step["id"]?.stringValue else { return nil }
            // As the API: nobody moves unless told to.
            let selected = chosen[stepId] ?? ""
            var options = [("", "Stay on version \(current)")]
            options += data.draft.steps.compactMap { target in
                target["id"]?.stringValue.map { ($0, "\(JourneyDraft.title(target)) (\($0))") }
            }
            return [
                "index": index, "from": stepId, "title": JourneyDraft.title(step),
                "type": JourneyText.typeLabel(step), "now": counts[stepId]?.now ?? 0,
                "options": options.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == selected] },
            ]
        }
        return console.page(
            "journeys-publish", title: "Publish version \(current + 1) of \(data.name)", section: .journeys,
            session: session, request: request,
            values: [
                "base": JourneyPage.href(data.id), "name": data.name, "current": current, "next": current + 1,
                "rows": rows, "rowCount": old.steps.count, "active": data.total("active"),
            ], status: problems.isEmpty ? .ok : .unprocessableContent, problems: problems)
    }
}
