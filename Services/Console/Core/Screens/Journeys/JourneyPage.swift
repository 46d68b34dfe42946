import Contracts
import EngageClient
import Foundation
import HTTPTypes
import Hummingbird

/// The journey page (`journeys-show`): the graph with counts and problems, the step list and the
/// step form, the entry settings, the JSON definition beside them, versions and the profile lookup.
/// `?step=<id>` opens a step's form, `?add=<kind>` a new step's, `?version=N` draws a published
/// version, `?profile=<identifier>` looks a person up.
struct JourneyPage: Sendable {
    let console: Console

    /// What a POST leaves on the page when it renders it instead of redirecting.
    struct State {
        var problems = JourneyProblems()
        var pageProblems: [String] = []
        var message: String?
        /// The message tells of something not done (shown as a warning).
        var messageWarns = false
        var stepForm: JourneyStepForm?
        var settings: JourneySettingsForm?
        var json: String?
        var jsonError: String?
        var status: HTTPResponse.Status = .ok
    }

    static func href(_ id: String) -> String { "/journeys/\(EngageAPI.segment(id))" }

    func render(_ request: Request, _ session: ConsoleSession, _ data: JourneyData, _ state: State = State())
        async throws -> Response
    {
        let query = request.uri.queryParameters
        let base = Self.href(data.id)
        let editable = !data.isArchived
        var values: [String: Any] = ["base": base, "name": data.name, "id": data.id]
        values["status"] = data.status
        values["statusClass"] = ["published": "good", "paused": "warn", "archived": "bad"][data.status] ?? ""
        values["versionText"] = data.currentVersion.map { "version \($0)" } ?? "not published yet"
        values["editable"] = editable
        values["canPause"] = data.status == "published"
        values["canResume"] = data.status == "paused"
        values["publishDirect"] = editable && data.currentVersion == nil
        values["publishMapping"] = false
        values["nextVersion"] = (data.currentVersion ?? 0) + 1
        if let message = state.message {
            values["message"] = message
            values["messageWarns"] = state.messageWarns
        }
        if let current = data.currentVersion, let published = data.version(current)?["definition"],
            published != data.draft.json
        {
            values["draftChanged"] = true
            values["publishMapping"] = editable
        }
        values["totals"] = [
            "entered": data.total("entered"), "active": data.total("active"), "exited": data.total("exited"),
            "converted": data.total("converted"),
        ]

        // The graph: the draft (counts of the version running), or a published version.
        let lookupText = query.get("profile")?.trimmingCharacters(in: .whitespaces) ?? ""
        let lookup =
            lookupText.isEmpty
            ? nil
            : try await JourneyLookup.find(console.client(session), journeyId: data.id, identifier: lookupText)
        let shownVersion = query.get("version").flatMap(Int.init).flatMap { data.version($0) != nil ? $0 : nil }
        values["graph"] = graph(data, version: shownVersion, lookup: lookup, problems: state.problems)
        var refresh: [(String, String)] = []
        if let shownVersion {
            values["viewingVersion"] = shownVersion
            refresh.append(("version", "\(shownVersion)"))
        }
        if !lookupText.isEmpty { refresh.append(("profile", lookupText)) }
        if ["published", "paused"].contains(data.status), state.problems.isEmpty {
            values["refresh"] = base + "/graph" + Self.query(refresh)
        }

        // Steps, the step form, the settings, the JSON.
        let draft = data.draft
        values["steps"] = draft.steps.compactMap { step -> [String: Any]? in
            guard let id = step["id"]?.stringValue else { return nil }
            var leads = JourneyDraft.slots(of: step).map { slot in
                "\(slot.label ?? "then") → \(slot.target.map { draft.title($0) } ?? "end")"
            }
            if JourneyText.kind(of: step) == "random_split" {
                leads += (step["branches"]?.arrayValue ?? []).filter { $0["holdout"] == .bool(true) }.map {
                    "\($0["name"]?.stringValue ?? "holdout") → holdout"
                }
            }
            let problems = state.problems.byStep[id] ?? []
            return [
                "id": id, "title": JourneyDraft.title(step), "type": JourneyText.typeLabel(step),
                "summary": JourneyText.summary(step, templates: data.templateNames),
                "leads": leads.joined(separator: "; "), "problems": problems, "hasProblems": !problems.isEmpty,
                "editHref": base + "?step=\(EngageAPI.segment(id))#step-form",
                "removeAction": base + "/steps/\(EngageAPI.segment(id))/remove",
                "isStart": draft.start == id,
            ]
        }
        values["hasSteps"] = !draft.steps.isEmpty
        values["kinds"] = JourneyText.kinds.map { ["value": $0.kind, "label": $0.label] }
        if editable, let form = stepForm(query, data, state) {
            let action = form.editing.map { base + "/steps/\(EngageAPI.segment($0))" } ?? base + "/steps"
            values["stepForm"] = form.view(
                action: action, problems: form.editing.flatMap { state.problems.byStep[$0] } ?? [])
        }
        var settings =
            state.settings ?? JourneySettingsForm(fields: JourneySettingsForm.fields(name: data.name, draft: draft))
        settings.audiences = data.audiences
        values["settings"] = settings.view(action: base + "/settings", problems: state.problems.entry)
        values["json"] = state.json ?? JourneyJSON.pretty(draft.json)
        if let error = state.jsonError { values["jsonError"] = error }

        // Versions and the lookup.
        values["versions"] = data.versions.reversed().map { version -> [String: Any] in
            let number = version["version"]?.numberValue.map { Int($0) } ?? 0
            let mapping = (version["stepMapping"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map {
                "\($0.key) → \($0.value.stringValue ?? "")"
            }
            return [
                "version": number, "published": JourneyText.time(version["publishedAt"]),
                "mapping": mapping.isEmpty ? "none" : mapping.joined(separator: ", "),
                "current": number == data.currentVersion, "viewing": number == shownVersion,
                "href": base + "?version=\(number)#journey-graph",
            ]
        }
        values["hasVersions"] = !data.versions.isEmpty
        values["lookup"] = lookup?.view(journeyId: data.id, draft: draft) ?? ["identifier": ""]
        return console.page(
            "journeys-show", title: data.name, section: .journeys, session: session, request: request, values: values,
            status: state.status, problems: state.problems.lines + state.pageProblems)
    }

    /// The graph as SVG: the draft's steps with the running version's counts, or a published
    /// version's (read-only).
    func graph(_ data: JourneyData, version: Int?, lookup: JourneyLookup?, problems: JourneyProblems) -> String {
        var graph: JourneyGraph
        if let version, let definition = data.version(version)?["definition"] {
            graph = JourneyGraph(draft: JourneyDraft(definition), counts: data.counts(version: version))
        } else {
            graph = JourneyGraph(draft: data.draft, counts: data.currentVersion.map { data.counts(version: $0) })
            graph.problems = problems
            if !data.isArchived {
                let base = Self.href(data.id)
                graph.editLink = { base + "?step=\(EngageAPI.segment($0))#step-form" }
            }
        }
        if data.currentVersion != nil { graph.totals = (data.total("entered"), data.total("active")) }
        graph.templates = data.templateNames
        graph.here = lookup?.here(version: version ?? data.currentVersion) ?? [:]
        return graph.svg()
    }

    /// The form to show: what was typed (refused), a new step's (`?add=`) or a step's (`?step=`).
    private func stepForm(_ query: Parameters, _ data: JourneyData, _ state: State) -> JourneyStepForm? {
        if let form = state.stepForm { return form }
        if let kind = query.get("add"), JourneyText.kinds.contains(where: { $0.kind == kind }) {
            let after = query.get("after").flatMap { data.draft.slot(formValue: $0) } ?? data.draft.defaultSlot
            return JourneyStepForm(
                kind: kind, fields: JourneyStepForm.defaults(kind: kind, after: after.formValue), draft: data.draft,
                editing: nil, templates: data.templates, audiences: data.audiences)
        }
        // A step asked for, else (after a refused publish) the first step with problems.
        let asked = query.get("step").flatMap { data.draft.step($0) != nil ? $0 : nil }
        guard let id = asked ?? data.draft.stepIds.first(where: { state.problems.byStep[$0] != nil }),
            let step = data.draft.step(id)
        else { return nil }
        return JourneyStepForm(
            kind: JourneyText.kind(of: step), fields: JourneyStepForm.fields(from: step), draft: data.draft,
            editing: id, templates: data.templates, audiences: data.audiences)
    }

    static func query(_ items: [(String, String)]) -> String {
        guard !items.isEmpty else { return "" }
        var components = URLComponents()
        components.queryItems = items.map { URLQueryItem(name: $0.0, value: $0.1) }
        return "?" + (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
    }
}
