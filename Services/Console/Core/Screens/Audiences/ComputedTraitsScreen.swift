import Contracts
import EngageClient
import Foundation
import Hummingbird

/// Computed traits (event counters, aggregations, most frequent, first and last values): the
/// list, a simple form beside the definition's JSON (which is what the form posts), and each
/// one's definition, versions and build progress.
struct ComputedTraitsScreen: Sendable {
    let console: Console

    static let base = "/audiences/computed-traits"

    func register(on router: Router<some RequestContext>) {
        router.get("/audiences/computed-traits") { request, _ in
            let session = try console.session(request)
            return try await listPage(request, session)
        }
        router.get("/audiences/computed-traits/new") { request, _ in
            let session = try console.session(request)
            return formPage(request, session, draft: TraitDraft(), existing: nil)
        }
        router.post("/audiences/computed-traits/new") { request, _ in
            let session = try console.session(request)
            return try await submit(request, session, existing: nil)
        }
        // The form's fields for a definition the person typed as JSON (the page's script asks).
        router.post("/audiences/computed-traits/fields") { request, _ in
            let session = try console.session(request)
            try console.scriptCall(request, session)
            let body = try await request.body.collect(upTo: 1024 * 1024)
            guard case .object(let object)? = try? JSONParser.parse(body.readableBytesView) else {
                return console.json(["message": "The request is not a JSON object."], status: .badRequest)
            }
            let fields = ComputedTraitFields.view(object["definition"])
            return console.json(["html": console.views.render("audiences-trait-fields", ["fields": fields])])
        }
        router.get("/audiences/computed-traits/:key") { request, context in
            let session = try console.session(request)
            return try await detailPage(request, session, key: try context.parameters.require("key"))
        }
        router.get("/audiences/computed-traits/:key/progress") { request, context in
            let session = try console.session(request)
            let key = try context.parameters.require("key")
            return AudienceViews.progress(
                console,
                try await console.client(session).get(.audiences, "/computed-traits/\(EngageAPI.segment(key))"))
        }
        router.get("/audiences/computed-traits/:key/edit") { request, context in
            let session = try console.session(request)
            let key = try context.parameters.require("key")
            let answer = try await console.client(session).get(
                .audiences, "/computed-traits/\(EngageAPI.segment(key))")
            guard answer.ok, let record = AudienceViews.data(answer)?.objectValue else {
                return missingPage(request, session, answer)
            }
            return formPage(request, session, draft: TraitDraft(record), existing: key)
        }
        router.post("/audiences/computed-traits/:key/edit") { request, context in
            let session = try console.session(request)
            return try await submit(request, session, existing: try context.parameters.require("key"))
        }
        router.post("/audiences/computed-traits/:key/delete") { request, context in
            let session = try console.session(request)
            _ = try await console.form(request, session)
            let key = try context.parameters.require("key")
            let answer = try await console.client(session).send(
                .DELETE, .audiences, "/computed-traits/\(EngageAPI.segment(key))")
            guard answer.ok else {
                return try await detailPage(request, session, key: key, problems: answer.problems, status: .conflict)
            }
            return console.redirect(Self.base, notice: "Computed trait \(key) deleted.")
        }
    }

    static func href(_ key: String) -> String { base + "/" + EngageAPI.segment(key) }

    private func listPage(_ request: Request, _ session: ConsoleSession) async throws -> Response {
        let records = try await console.client(session).get(.audiences, "/computed-traits").dataList
        let rows = records.map { record -> [String: Any] in
            let key = record["key"] as? String ?? ""
            let definition = record["definition"] as? [String: Any] ?? [:]
            let type = definition["type"] as? String ?? ""
            var row = AudienceViews.status(record)
            row["name"] = record["name"] as? String ?? key
            row["key"] = key
            row["href"] = Self.href(key)
            row["type"] = SelectOptions.computedTraitTypes.choices.first { $0.value == type }?.label ?? type
            row["event"] = definition["event"] as? String ?? ""
            row["property"] = definition["property"] as? String ?? ""
            row["hasProperty"] = !(definition["property"] as? String ?? "").isEmpty
            return row
        }
        return console.page(
            "audiences-traits", title: "Computed traits", section: .audiences, session: session, request: request,
            values: ["traits": rows, "hasTraits": !rows.isEmpty, "tabTraits": true])
    }

    private func detailPage(
        _ request: Request, _ session: ConsoleSession, key: String, problems: [String] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let client = console.client(session)
        let path = "/computed-traits/\(EngageAPI.segment(key))"
        async let recordAnswer = client.get(.audiences, path)
        async let versionsAnswer = client.get(.audiences, path + "/versions")
        let answer = try await recordAnswer
        guard answer.ok else { return missingPage(request, session, answer) }
        let record = answer.dataObject
        var values = AudienceViews.status(record)
        values.merge([
            "name": record["name"] as? String ?? key, "key": record["key"] as? String ?? key,
            "description": record["description"] as? String ?? "",
            "hasDescription": !(record["description"] as? String ?? "").isEmpty,
            "href": Self.href(record["key"] as? String ?? key),
            "versions": AudienceViews.versions(try await versionsAnswer, record: record),
            "build": AudienceViews.build(record), "running": AudienceViews.running(record),
            "definition": DefinitionJSON.pretty(AudienceViews.data(answer)?.objectValue?["definition"] ?? .null),
            "tabTraits": true,
        ]) { $1 }
        return console.page(
            "audiences-trait-show", title: record["name"] as? String ?? key, section: .audiences, session: session,
            request: request, values: values, status: status, problems: problems)
    }

    private func missingPage(_ request: Request, _ session: ConsoleSession, _ answer: EngageResponse) -> Response {
        console.errorPage(
            request, session: session, section: .audiences, heading: "No such computed trait",
            detail: answer.problems.joined(separator: " "), status: answer.status == 404 ? .notFound : .badGateway)
    }

    private func submit(_ request: Request, _ session: ConsoleSession, existing: String?) async throws -> Response {
        let form = try await console.form(request, session)
        let draft = TraitDraft(form, existing: existing)
        let definition: JSONValue
        do {
            definition = try DefinitionJSON.parse(draft.definitionText)
        } catch let error as DefinitionJSON.Unreadable {
            return formPage(
                request, session, draft: draft, existing: existing, problems: [error.message],
                status: .unprocessableContent)
        }
        var body: [String: JSONValue] = ["description": .string(draft.description), "definition": definition]
        if !draft.name.isEmpty { body["name"] = .string(draft.name) }
        let client = console.client(session)
        let answer: EngageResponse
        if let existing {
            answer = try await client.send(
                .PATCH, .audiences, "/computed-traits/\(EngageAPI.segment(existing))",
                body: .json(DefinitionJSON.data(.object(body))))
        } else {
            body["key"] = .string(draft.key)
            answer = try await client.send(
                .POST, .audiences, "/computed-traits", body: .json(DefinitionJSON.data(.object(body))))
        }
        guard answer.ok else {
            return formPage(
                request, session, draft: draft, existing: existing, problems: answer.problems,
                status: .unprocessableContent)
        }
        let record = answer.dataObject
        let name = record["name"] as? String ?? draft.key
        return console.redirect(
            Self.href(record["key"] as? String ?? draft.key),
            notice: "Computed trait \(name) saved: it is being computed over the event history.")
    }

    private func formPage(
        _ request: Request, _ session: ConsoleSession, draft: TraitDraft, existing: String?,
        problems: [String] = [], status: HTTPResponse.Status = .ok
    ) -> Response {
        let definition = try? DefinitionJSON.parse(draft.definitionText)
        let href = existing.map(Self.href)
        let heading = existing == nil ? "New computed trait" : "Edit \(draft.name.isEmpty ? draft.key : draft.name)"
        return console.page(
            "audiences-trait-edit", title: heading, section: .audiences, session: session, request: request,
            values: [
                "heading": heading, "action": (href ?? Self.base) + (existing == nil ? "/new" : "/edit"),
                "cancelHref": href ?? Self.base, "isNew": existing == nil, "name": draft.name, "key": draft.key,
                "description": draft.description, "definitionText": draft.definitionText,
                "fields": ComputedTraitFields.view(definition),
                "blankFilter": ConditionBuilder.filterRow([:], id: "__ID__"), "tabTraits": true,
            ], status: status, problems: problems)
    }
}

/// The computed-trait form's fields for a definition (type, event, property, aggregation, window,
/// property filters), for the `audiences-trait-fields` template.
enum ComputedTraitFields {
    static func view(_ definition: JSONValue?) -> [String: Any] {
        let object = definition?.objectValue ?? [:]
        let type = object["type"].map { DefinitionJSON.text($0) } ?? "event_counter"
        var view: [String: Any] = [
            "id": "t", "typeOptions": SelectOptions.computedTraitTypes.view(selected: type),
            "event": DefinitionJSON.string(object, "event"), "property": DefinitionJSON.string(object, "property"),
            "aggregationOptions": SelectOptions.aggregations.view(
                selected: object["aggregation"].map { DefinitionJSON.text($0) } ?? "sum"),
            "hideProperty": type == "event_counter", "hideAggregation": type != "aggregation",
            "hideWindow": type == "first", "filters": ConditionBuilder.filters(object["where"], id: "t"),
        ]
        view.merge(ConditionBuilder.window(object["window"], id: "t")) { $1 }
        return view
    }
}

/// What a person typed into the computed-trait form, kept when the page comes back with problems.
struct TraitDraft {
    var key = ""
    var name = ""
    var description = ""
    var definitionText = DefinitionJSON.pretty(["type": "event_counter", "event": ""])

    init() {}

    init(_ form: FormFields, existing: String?) {
        key = existing ?? form["key"] ?? ""
        name = form["name"] ?? ""
        description = form["description"] ?? ""
        definitionText = form.raw("definition")
    }

    init(_ record: [String: JSONValue]) {
        key = record["key"]?.stringValue ?? ""
        name = record["name"]?.stringValue ?? ""
        description = record["description"]?.stringValue ?? ""
        definitionText = DefinitionJSON.pretty(record["definition"] ?? .null)
    }
}
