import EngageClient
import Foundation
import Hummingbird

/// `/broadcasts`: one template sent once to everyone in an audience, now or at a set time, with a
/// throttle. The list shows each one's state; a broadcast's page watches its progress until every
/// message has an outcome, and can cancel it while it is scheduled or sending.
struct BroadcastsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/broadcasts") { request, _ in try await list(request) }
        router.get("/broadcasts/new") { request, _ in
            let session = try console.session(request)
            return try await formPage(session, request, form: BroadcastForm(), errors: [:])
        }
        router.get("/broadcasts/estimate") { request, _ in try await estimate(request) }
        router.post("/broadcasts") { request, _ in try await create(request) }
        router.get("/broadcasts/:id") { request, context in
            try await detail(request, id: try context.parameters.require("id"))
        }
        router.get("/broadcasts/:id/progress") { request, context in
            let session = try console.session(request)
            let record = try await broadcast(console.client(session), id: try context.parameters.require("id"))
            return console.json(BroadcastProgress(record: record).values)
        }
        router.post("/broadcasts/:id/cancel") { request, context in
            try await cancel(request, id: try context.parameters.require("id"))
        }
    }

    /// Audience and template names by id, for showing broadcasts by what people call things.
    struct Names {
        var audiences: [String: String] = [:]
        var templates: [String: String] = [:]
        var audienceList: [[String: Any]] = []
        var templateList: [[String: Any]] = []

        static func load(_ client: SpaceClient) async throws -> Names {
            async let audiences = client.get(.audiences, "/audiences")
            async let templates = client.get(.messaging, "/templates")
            var names = Names()
            names.audienceList = try await audiences.dataList
            names.templateList = try await templates.dataList.sorted {
                ($0["name"] as? String ?? "").localizedCaseInsensitiveCompare($1["name"] as? String ?? "")
                    == .orderedAscending
            }
            for audience in names.audienceList {
                if let id = audience["id"] as? String { names.audiences[id] = audience["name"] as? String ?? id }
            }
            for template in names.templateList {
                if let id = template["id"] as? String { names.templates[id] = template["name"] as? String ?? id }
            }
            return names
        }
    }

    func list(_ request: Request) async throws -> Response {
        let session = try console.session(request)
        let client = console.client(session)
        async let answer = client.get(.journeys, "/broadcasts")
        async let loadedNames = Names.load(client)
        let (broadcasts, names) = try await (answer, loadedNames)
        let rows = broadcasts.dataList.map { record -> [String: Any] in
            let progress = BroadcastProgress(record: record)
            let audienceId = record["audienceId"] as? String ?? ""
            let templateId = record["templateId"] as? String ?? ""
            return [
                "id": record["id"] as? String ?? "", "name": record["name"] as? String ?? "",
                "audience": names.audiences[audienceId] ?? audienceId,
                "template": names.templates[templateId] ?? templateId,
                "channel": TemplateChannel(loose: record["channel"] as? String)?.label ?? "",
                "status": Self.listLabel(progress.status), "badge": Self.listBadge(progress.status),
                "scheduledAt": DisplayText.minute(record["scheduledAt"] as? String),
                "requested": progress.requested, "recipients": progress.recipients,
                "progressMax": max(progress.recipients, 1),
                "progressValue": min(progress.requested, max(progress.recipients, 1)),
            ]
        }
        return console.page(
            "broadcasts-list", title: "Broadcasts", section: .broadcasts, session: session, request: request,
            values: ["broadcasts": rows, "hasBroadcasts": !rows.isEmpty],
            problems: broadcasts.ok ? [] : broadcasts.problems)
    }

    // The list has no outcomes (the journeys API gives them per broadcast): it shows the request
    // state, and the broadcast's own page the outcomes.
    static func listLabel(_ status: String) -> String {
        switch status {
        case "scheduled": "Scheduled"
        case "sending": "Sending"
        case "completed": "Completed"
        case "cancelled": "Cancelled"
        default: status
        }
    }

    static func listBadge(_ status: String) -> String {
        switch status {
        case "completed": "good"
        case "cancelled": "bad"
        default: "warn"
        }
    }

    func formPage(
        _ session: ConsoleSession, _ request: Request, form: BroadcastForm, errors: [String: String],
        problems: [String] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let client = console.client(session)
        async let loadedNames = Names.load(client)
        async let groupAnswer = client.get(.subscriptions, "/subscription-groups")
        let (names, groups) = try await (loadedNames, groupAnswer)
        return console.page(
            "broadcasts-new", title: "New broadcast", section: .broadcasts, session: session, request: request,
            values: form.values(
                audiences: names.audienceList, templates: names.templateList, groups: groups.dataList, errors: errors),
            status: status, problems: problems)
    }

    func create(_ request: Request) async throws -> Response {
        let session = try console.session(request)
        let form = BroadcastForm(try await console.form(request, session))
        let (body, problems) = form.body()
        guard problems.isEmpty else {
            return try await formPage(
                session, request, form: form, errors: problems,
                problems: problems.keys.sorted().compactMap { problems[$0] }, status: .unprocessableContent)
        }
        let answer = try await console.client(session).send(.POST, .journeys, "/broadcasts", json: body)
        guard answer.ok, let id = answer.dataObject["id"] as? String else {
            let listed = (answer.json as? [String: Any])?["problems"] as? [String] ?? []
            var errors: [String: String] = [:]
            for problem in listed {
                if let field = BroadcastForm.field(ofProblem: problem) { errors[field] = problem }
            }
            return try await formPage(
                session, request, form: form, errors: errors, problems: answer.problems,
                status: .unprocessableContent)
        }
        let scheduled = body["scheduledAt"] != nil && answer.dataObject["status"] as? String == "scheduled"
        let notice =
            scheduled
            ? "Broadcast “\(form.name)” scheduled for \(DisplayText.minute(answer.dataObject["scheduledAt"] as? String))."
            : "Broadcast “\(form.name)” started."
        return console.redirect("/broadcasts/\(EngageAPI.segment(id))", notice: notice)
    }

    /// `GET /broadcasts/estimate?audienceId=` (JSON, for the form's script).
    func estimate(_ request: Request) async throws -> Response {
        let session = try console.session(request)
        guard let audience = request.uri.queryParameters["audienceId"].map(String.init), !audience.isEmpty else {
            return console.json(["message": "Choose an audience."], status: .badRequest)
        }
        let answer = try await console.client(session).get(
            .journeys, "/broadcasts/estimate", query: [("audienceId", audience)])
        guard answer.ok else {
            return console.json(["message": answer.problems.joined(separator: " ")], status: .unprocessableContent)
        }
        let data = answer.dataObject
        return console.json([
            "recipients": BroadcastProgress.int(data["recipients"]),
            "audienceName": data["audienceName"] as? String ?? audience,
        ])
    }

    func broadcast(_ client: SpaceClient, id: String) async throws -> [String: Any] {
        let answer = try await client.get(.journeys, "/broadcasts/\(EngageAPI.segment(id))")
        guard answer.ok else { throw HTTPError(.notFound) }
        return answer.dataObject
    }

    func detail(
        _ request: Request, id: String, problems: [String] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let session = try console.session(request)
        let client = console.client(session)
        async let loadedRecord = broadcast(client, id: id)
        async let loadedNames = Names.load(client)
        let (record, names) = try await (loadedRecord, loadedNames)
        let audienceId = record["audienceId"] as? String ?? ""
        let templateId = record["templateId"] as? String ?? ""
        var values = BroadcastProgress(record: record).values
        values["id"] = id
        values["name"] = record["name"] as? String ?? id
        values["audience"] = names.audiences[audienceId] ?? audienceId
        values["template"] = names.templates[templateId] ?? templateId
        values["templateHref"] = "/templates/\(EngageAPI.segment(templateId))"
        values["channel"] = TemplateChannel(loose: record["channel"] as? String)?.label ?? ""
        values["purpose"] = record["purpose"] as? String ?? ""
        values["scheduledAt"] = DisplayText.minute(record["scheduledAt"] as? String)
        values["throttle"] = (record["throttlePerMinute"] as? Int).map { "\($0) a minute" } ?? "none"
        if let group = record["group"] as? String { values["group"] = group }
        values["analyticsHref"] = "/analytics?broadcastId=\(EngageAPI.segment(id))&groupBy=channel"
        return console.page(
            "broadcasts-detail", title: record["name"] as? String ?? "Broadcast", section: .broadcasts,
            session: session, request: request, values: values, status: status, problems: problems)
    }

    func cancel(_ request: Request, id: String) async throws -> Response {
        let session = try console.session(request)
        _ = try await console.form(request, session)
        let answer = try await console.client(session).send(
            .POST, .journeys, "/broadcasts/\(EngageAPI.segment(id))/cancel")
        if answer.status == 404 { throw HTTPError(.notFound) }
        guard answer.ok else { return try await detail(request, id: id, problems: answer.problems, status: .conflict) }
        let requested = BroadcastProgress.int(answer.dataObject["requested"])
        return console.redirect(
            "/broadcasts/\(EngageAPI.segment(id))",
            notice:
                "Broadcast cancelled. \(requested) message\(requested == 1 ? " was" : "s were") requested before it stopped."
        )
    }
}
