import Contracts
import EngageClient
import Foundation
import Hummingbird

/// Audiences: the list with sizes and states, the condition builder (a tree of groups and
/// conditions beside the definition's JSON, which is what the form posts), a preview of the size
/// before saving, and each audience's members, versions and build (backfill) progress. Computed
/// traits live under /audiences/computed-traits.
struct AudiencesScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/audiences") { request, _ in
            let session = try console.session(request)
            return try await listPage(request, session)
        }
        router.get("/audiences/new") { request, _ in
            let session = try console.session(request)
            return try await editPage(request, session, draft: AudienceDraft(), existing: nil)
        }
        router.post("/audiences/new") { request, _ in
            let session = try console.session(request)
            return try await submit(request, session, existing: nil)
        }
        // The builder for a definition the person typed as JSON (the page's script asks).
        router.post("/audiences/builder") { request, _ in
            let session = try console.session(request)
            try console.scriptCall(request, session)
            let body = try await request.body.collect(upTo: 1024 * 1024)
            guard case .object(let object)? = try? JSONParser.parse(body.readableBytesView) else {
                return console.json(["message": "The request is not a JSON object."], status: .badRequest)
            }
            let audiences = try await audienceChoices(session, except: object["audience"]?.stringValue)
            let root = ConditionBuilder(audiences: audiences).root(object["definition"])
            return console.json(["html": console.views.render("audiences-builder", ["root": root])])
        }
        router.get("/audiences/:key") { request, context in
            let session = try console.session(request)
            return try await detailPage(request, session, key: try context.parameters.require("key"))
        }
        router.get("/audiences/:key/progress") { request, context in
            let session = try console.session(request)
            let key = try context.parameters.require("key")
            return AudienceViews.progress(
                console, try await console.client(session).get(.audiences, "/audiences/\(EngageAPI.segment(key))"))
        }
        router.get("/audiences/:key/edit") { request, context in
            let session = try console.session(request)
            let key = try context.parameters.require("key")
            let answer = try await console.client(session).get(.audiences, "/audiences/\(EngageAPI.segment(key))")
            guard answer.ok, let record = AudienceViews.data(answer)?.objectValue else {
                return missingPage(request, session, answer)
            }
            return try await editPage(request, session, draft: AudienceDraft(record), existing: key)
        }
        router.post("/audiences/:key/edit") { request, context in
            let session = try console.session(request)
            return try await submit(request, session, existing: try context.parameters.require("key"))
        }
        router.post("/audiences/:key/delete") { request, context in
            let session = try console.session(request)
            _ = try await console.form(request, session)
            let key = try context.parameters.require("key")
            let answer = try await console.client(session).send(
                .DELETE, .audiences, "/audiences/\(EngageAPI.segment(key))")
            guard answer.ok else {
                return try await detailPage(request, session, key: key, problems: answer.problems, status: .conflict)
            }
            return console.redirect("/audiences", notice: "Audience \(key) deleted: its members have left it.")
        }
        ComputedTraitsScreen(console: console).register(on: router)
    }

    /// An audience's page: by key, or by id for the one key ("new") the console's own routes take.
    static func href(key: String, id: String) -> String {
        "/audiences/" + EngageAPI.segment(key == "new" ? id : key)
    }

    // MARK: list

    private func listPage(_ request: Request, _ session: ConsoleSession) async throws -> Response {
        let client = console.client(session)
        let records = try await client.get(.audiences, "/audiences").dataList
        // Sizes are exact counts, one call each: asked for together.
        let sizes = try await withThrowingTaskGroup(of: (String, String).self) { group in
            for record in records {
                let key = record["key"] as? String ?? ""
                group.addTask {
                    let answer = try await client.get(.audiences, "/audiences/\(EngageAPI.segment(key))/size")
                    return (key, answer.ok ? "\(DisplayText.int(answer.dataObject["size"]) ?? 0)" : "–")
                }
            }
            var sizes: [String: String] = [:]
            for try await (key, size) in group { sizes[key] = size }
            return sizes
        }
        let rows = records.map { record -> [String: Any] in
            let key = record["key"] as? String ?? ""
            var row = AudienceViews.status(record)
            row["name"] = record["name"] as? String ?? key
            row["key"] = key
            row["href"] = Self.href(key: key, id: record["id"] as? String ?? "")
            row["size"] = sizes[key] ?? "–"
            row["description"] = record["description"] as? String ?? ""
            row["hasDescription"] = !(record["description"] as? String ?? "").isEmpty
            return row
        }
        return console.page(
            "audiences-list", title: "Audiences", section: .audiences, session: session, request: request,
            values: ["audiences": rows, "hasAudiences": !rows.isEmpty, "tabAudiences": true])
    }

    // MARK: detail

    private func detailPage(
        _ request: Request, _ session: ConsoleSession, key: String, problems: [String] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let client = console.client(session)
        let path = "/audiences/\(EngageAPI.segment(key))"
        let cursor = request.uri.queryParameters.get("cursor")
        async let recordAnswer = client.get(.audiences, path)
        async let sizeAnswer = client.get(.audiences, path + "/size")
        async let versionsAnswer = client.get(.audiences, path + "/versions")
        async let membersAnswer = client.get(
            .audiences, path + "/members", query: [("limit", "50")] + (cursor.map { [("cursor", $0)] } ?? []))
        let answer = try await recordAnswer
        guard answer.ok else { return missingPage(request, session, answer) }
        let record = answer.dataObject
        let members = try await membersAnswer
        let memberRows = members.dataList.map(AudienceViews.member)
        let next = (members.json as? [String: Any])?["next"] as? String
        let href = Self.href(key: record["key"] as? String ?? key, id: record["id"] as? String ?? "")
        let size = DisplayText.int(try await sizeAnswer.dataObject["size"]) ?? 0
        var values = AudienceViews.status(record)
        values.merge([
            "name": record["name"] as? String ?? key, "key": record["key"] as? String ?? key,
            "description": record["description"] as? String ?? "",
            "hasDescription": !(record["description"] as? String ?? "").isEmpty, "href": href,
            "size": size,
            "sizeText": AudienceViews.running(record)
                ? "so far: the build is still running"
                : size == 1 ? "profile is in this audience" : "profiles are in this audience",
            "members": memberRows, "hasMembers": !memberRows.isEmpty, "isLaterPage": cursor != nil,
            "nextHref": next.map { href + "?cursor=" + EngageAPI.segment($0) } ?? "", "hasNext": next != nil,
            "versions": AudienceViews.versions(try await versionsAnswer, record: record),
            "build": AudienceViews.build(record), "running": AudienceViews.running(record),
            "tabAudiences": true,
        ]) { $1 }
        return console.page(
            "audiences-show", title: record["name"] as? String ?? key, section: .audiences, session: session,
            request: request, values: values, status: status, problems: problems)
    }

    private func missingPage(_ request: Request, _ session: ConsoleSession, _ answer: EngageResponse) -> Response {
        console.errorPage(
            request, session: session, section: .audiences, heading: "No such audience",
            detail: answer.problems.joined(separator: " "), status: answer.status == 404 ? .notFound : .badGateway)
    }

    // MARK: the builder form

    private func submit(_ request: Request, _ session: ConsoleSession, existing: String?) async throws -> Response {
        let form = try await console.form(request, session)
        let draft = AudienceDraft(form, existing: existing)
        let definition: JSONValue
        do {
            definition = try DefinitionJSON.parse(draft.definitionText)
        } catch let error as DefinitionJSON.Unreadable {
            return try await editPage(
                request, session, draft: draft, existing: existing, problems: [error.message],
                status: .unprocessableContent)
        }
        let client = console.client(session)
        if form["action"] == "preview" {
            let answer = try await client.send(
                .POST, .audiences, "/audiences/preview", body: .json(DefinitionJSON.data(["definition": definition])))
            guard answer.ok else {
                return try await editPage(
                    request, session, draft: draft, existing: existing, problems: answer.problems,
                    status: .unprocessableContent)
            }
            return try await editPage(
                request, session, draft: draft, existing: existing, preview: AudienceViews.preview(answer.dataObject))
        }
        var body: [String: JSONValue] = ["description": .string(draft.description), "definition": definition]
        if !draft.name.isEmpty { body["name"] = .string(draft.name) }
        let answer: EngageResponse
        if let existing {
            answer = try await client.send(
                .PATCH, .audiences, "/audiences/\(EngageAPI.segment(existing))",
                body: .json(DefinitionJSON.data(.object(body))))
        } else {
            body["key"] = .string(draft.key)
            answer = try await client.send(
                .POST, .audiences, "/audiences", body: .json(DefinitionJSON.data(.object(body))))
        }
        guard answer.ok else {
            return try await editPage(
                request, session, draft: draft, existing: existing, problems: answer.problems,
                status: .unprocessableContent)
        }
        let record = answer.dataObject
        let name = record["name"] as? String ?? draft.key
        let building = record["status"] as? String == "building"
        let notice =
            existing == nil
            ? "Audience \(name) created: it is being built over the event history."
            : building
                ? "Audience \(name) saved: version \(DisplayText.int(record["version"]) ?? 0) is being built over the event history."
                : "Audience \(name) saved."
        return console.redirect(
            Self.href(key: record["key"] as? String ?? draft.key, id: record["id"] as? String ?? ""), notice: notice)
    }

    private func editPage(
        _ request: Request, _ session: ConsoleSession, draft: AudienceDraft, existing: String?,
        problems: [String] = [], preview: [String: Any]? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let client = console.client(session)
        async let audiences = audienceChoices(session, except: existing)
        // Suggestions only: the page works without them.
        async let traits = try? client.get(.audiences, "/computed-traits")
        async let groups = try? client.get(.subscriptions, "/subscription-groups")
        let builder = ConditionBuilder(audiences: try await audiences, problems: problems)
        let definition = try? DefinitionJSON.parse(draft.definitionText)
        var blanks: [String: Any] = [:]
        for kind in ConditionBuilder.Kind.allCases where kind != .raw { blanks[kind.rawValue] = builder.blank(kind) }
        blanks["filter"] = ConditionBuilder.filterRow([:], id: "__ID__")
        let href = existing.map { "/audiences/\(EngageAPI.segment($0))" }
        var values: [String: Any] = [
            "heading": existing == nil ? "New audience" : "Edit \(draft.name.isEmpty ? draft.key : draft.name)",
            "action": (href ?? "/audiences") + (existing == nil ? "/new" : "/edit"),
            "cancelHref": href ?? "/audiences", "isNew": existing == nil,
            "name": draft.name, "key": draft.key, "description": draft.description,
            "definitionText": draft.definitionText, "root": builder.root(definition), "blanks": blanks,
            "computedTraitKeys": (await traits)?.dataList.compactMap { $0["key"] as? String } ?? [],
            "subscriptionGroups": (await groups)?.dataList.compactMap { $0["name"] as? String } ?? [],
            "tabAudiences": true,
        ]
        if let preview { values["preview"] = preview }
        return console.page(
            "audiences-edit", title: values["heading"] as? String ?? "Audience", section: .audiences,
            session: session, request: request, values: values, status: status, problems: problems)
    }

    /// The audiences a condition may name (not the one being edited: that would be a cycle).
    private func audienceChoices(_ session: ConsoleSession, except key: String?) async throws
        -> [(key: String, name: String)]
    {
        try await console.client(session).get(.audiences, "/audiences").dataList.compactMap { record in
            guard let other = record["key"] as? String, other != key else { return nil }
            return (other, record["name"] as? String ?? other)
        }
    }
}

/// What a person typed into the audience form, kept when the page comes back with problems.
struct AudienceDraft {
    var key = ""
    var name = ""
    var description = ""
    var definitionText = DefinitionJSON.pretty(["type": "and", "conditions": []])

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
