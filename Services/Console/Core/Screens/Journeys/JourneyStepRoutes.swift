import Contracts
import Foundation
import Hummingbird

/// The draft's edits: add, edit and remove a step through its form, the entry settings, and the
/// JSON definition (saving it replaces the draft). Each reads the draft, changes it and saves it
/// whole with `PATCH /journeys/{id}`; a refused form comes back as typed (422).
struct JourneyStepRoutes: Sendable {
    let console: Console
    let page: JourneyPage

    func register(on router: Router<some RequestContext>) {
        router.post("/journeys/:id/steps") { request, context in
            try await addStep(request, id: try context.parameters.require("id"))
        }
        router.post("/journeys/:id/steps/:step") { request, context in
            try await editStep(
                request, id: try context.parameters.require("id"), stepId: try Self.stepId(context))
        }
        router.post("/journeys/:id/steps/:step/remove") { request, context in
            let session = try console.session(request)
            _ = try await console.form(request, session)
            let client = console.client(session)
            var data = try await JourneyData.load(client, id: try context.parameters.require("id"))
            let stepId = try Self.stepId(context)
            guard data.draft.step(stepId) != nil else { throw HTTPError(.notFound) }
            let title = data.draft.title(stepId)
            data.draft.removeStep(stepId)
            return try await save(request, session, data, notice: "Step “\(title)” removed.")
        }
        router.post("/journeys/:id/settings") { request, context in
            let session = try console.session(request)
            let form = try await console.form(request, session)
            var data = try await JourneyData.load(console.client(session), id: try context.parameters.require("id"))
            var settings = JourneySettingsForm(fields: form, audiences: data.audiences)
            if form["name"] == nil { settings.errors["name"] = "Give the journey a name." }
            settings.apply(to: &data.draft)
            guard settings.errors.isEmpty else {
                return try await page.render(
                    request, session, data,
                    .init(
                        pageProblems: [
                            "The settings were not saved: " + settings.errors.values.sorted().joined(separator: " ")
                        ],
                        settings: settings, status: .unprocessableContent))
            }
            return try await save(
                request, session, data, name: form["name"], notice: "Entry and exit settings saved.",
                refused: { $0.settings = settings })
        }
        router.post("/journeys/:id/definition") { request, context in
            let session = try console.session(request)
            let form = try await console.form(request, session)
            var data = try await JourneyData.load(console.client(session), id: try context.parameters.require("id"))
            let text = form.raw("definition")
            let parsed: JSONValue
            do {
                parsed = try JSONParser.parse(Array(text.utf8))
            } catch let error as JSONParseError {
                return try await page.render(
                    request, session, data,
                    .init(
                        pageProblems: ["The definition was not saved: it is not valid JSON (\(error.description))."],
                        json: text, jsonError: "Not valid JSON: \(error.description).", status: .unprocessableContent))
            }
            guard case .object = parsed else {
                return try await page.render(
                    request, session, data,
                    .init(
                        pageProblems: ["The definition was not saved: it must be a JSON object."], json: text,
                        jsonError: "The definition must be a JSON object ({\"entry\": ..., \"steps\": [...]}).",
                        status: .unprocessableContent))
            }
            data.draft = JourneyDraft(parsed)
            return try await save(
                request, session, data, notice: "Definition saved: it replaced the draft.",
                refused: { $0.json = text })
        }
    }

    private static func stepId(_ context: some RequestContext) throws -> String {
        let raw = try context.parameters.require("step")
        return raw.removingPercentEncoding ?? raw
    }

    private func addStep(_ request: Request, id: String) async throws -> Response {
        let session = try console.session(request)
        let form = try await console.form(request, session)
        var data = try await JourneyData.load(console.client(session), id: id)
        guard let kind = form["kind"], JourneyText.kinds.contains(where: { $0.kind == kind }) else {
            throw HTTPError(.badRequest)
        }
        let slot = data.draft.slot(formValue: form["after"] ?? "")
        var stepForm = JourneyStepForm(
            kind: kind, fields: form, draft: data.draft, editing: nil, templates: data.templates,
            audiences: data.audiences, afterTarget: slot?.target)
        if let typedId = form["id"] {
            if data.draft.step(typedId) != nil {
                stepForm.errors["id"] = "A step with the id “\(typedId)” exists already: choose another."
            } else if typedId.utf8.count > 64 {
                stepForm.errors["id"] = "A step id has at most 64 characters."
            }
        }
        let step = stepForm.step(existing: nil)
        guard stepForm.errors.isEmpty else { return try await refuse(request, session, data, stepForm) }
        data.draft.insert(step, at: slot)
        if data.draft.start == nil, let first = data.draft.stepIds.first {
            data.draft.definition["start"] = .string(first)
        }
        return try await save(
            request, session, data, notice: "Step “\(JourneyDraft.title(step))” added.",
            refused: { $0.stepForm = stepForm })
    }

    private func editStep(_ request: Request, id: String, stepId: String) async throws -> Response {
        let session = try console.session(request)
        let form = try await console.form(request, session)
        var data = try await JourneyData.load(console.client(session), id: id)
        guard let existing = data.draft.step(stepId) else { throw HTTPError(.notFound) }
        var stepForm = JourneyStepForm(
            kind: JourneyText.kind(of: existing), fields: form, draft: data.draft, editing: stepId,
            templates: data.templates, audiences: data.audiences)
        let step = stepForm.step(existing: existing)
        guard stepForm.errors.isEmpty else { return try await refuse(request, session, data, stepForm) }
        data.draft.replaceStep(stepId, with: step)
        return try await save(
            request, session, data, notice: "Step “\(JourneyDraft.title(step))” saved.",
            refused: { $0.stepForm = stepForm })
    }

    private func refuse(_ request: Request, _ session: ConsoleSession, _ data: JourneyData, _ form: JourneyStepForm)
        async throws -> Response
    {
        try await page.render(
            request, session, data,
            .init(
                pageProblems: ["The step was not saved: " + form.errors.values.sorted().joined(separator: " ")],
                stepForm: form, status: .unprocessableContent))
    }

    /// Saves the draft, then back to the journey page with a notice; a refusal renders the page
    /// with the service's problems and what was typed (`refused` puts it back).
    private func save(
        _ request: Request, _ session: ConsoleSession, _ data: JourneyData, name: String? = nil, notice: String,
        refused: (inout JourneyPage.State) -> Void = { _ in }
    ) async throws -> Response {
        let answer = try await JourneyData.save(
            console.client(session), id: data.id, definition: data.draft.json, name: name)
        guard answer.ok else {
            var state = JourneyPage.State(pageProblems: answer.problems, status: .unprocessableContent)
            refused(&state)
            let current = try await JourneyData.load(console.client(session), id: data.id)
            return try await page.render(request, session, current, state)
        }
        return console.redirect(JourneyPage.href(data.id) + "#journey-graph", notice: notice)
    }
}
