import EngageClient
import Foundation
import Hummingbird

/// The template editor: a new template of a channel, an existing one (any of its versions), saving
/// (a new version each time) and deleting. A refused save comes back with what was typed and each
/// problem beside its field.
struct TemplateEditor: Sendable {
    let console: Console

    /// What a new email starts with: a greeting with a fallback, and the unsubscribe link a
    /// marketing email needs.
    static let starterHTML = """
        <p>Hi {{profile.traits.first_name | default: "there"}},</p>

        <p></p>

        <p><a href="{{unsubscribe_link}}">Unsubscribe</a></p>
        """

    func new(_ request: Request) async throws -> Response {
        let session = try console.session(request)
        guard let channel = TemplateChannel(loose: request.uri.queryParameters["channel"].map(String.init)) else {
            return console.page(
                "templates-new", title: "New template", section: .templates, session: session, request: request,
                values: [
                    "channels": TemplateChannel.allCases.map {
                        ["label": $0.label, "href": "/templates/new?channel=\($0.rawValue.lowercased())"]
                    }
                ])
        }
        var form = TemplateForm(channel: channel)
        if channel == .email { form.fields["html"] = Self.starterHTML }
        return page(session, request, form: form, template: nil)
    }

    func create(_ request: Request) async throws -> Response {
        let session = try console.session(request)
        let fields = try await console.form(request, session)
        guard let channel = TemplateChannel(loose: fields["channel"]) else { return console.redirect("/templates/new") }
        let form = TemplateForm(channel: channel, form: fields)
        let (content, formProblems) = form.content()
        var problems = TemplateProblemList(formProblems: formProblems, channel: channel)
        if form.name.isEmpty {
            problems.byField["name"] = ["Give the template a name."]
            problems.summary.insert("Name: give the template a name.", at: 0)
        }
        guard problems.isEmpty else {
            return page(session, request, form: form, template: nil, problems: problems, status: .unprocessableContent)
        }
        let answer = try await console.client(session).send(
            .POST, .messaging, "/templates",
            json: ["name": form.name, "channel": channel.rawValue, "purpose": form.purpose, "content": content])
        guard answer.ok, let id = answer.dataObject["id"] as? String else {
            return page(
                session, request, form: form, template: nil, problems: TemplateProblemList(answer, channel: channel),
                status: .unprocessableContent)
        }
        return console.redirect(
            "/templates/\(EngageAPI.segment(id))", notice: "Template “\(form.name)” created as version 1.")
    }

    func show(_ request: Request, id: String) async throws -> Response {
        let session = try console.session(request)
        let version = request.uri.queryParameters["version"].flatMap { Int(String($0)) }
        let template = try await TemplateInfo.load(console.client(session), id: id, version: version)
        var extra: [String: Any] = [:]
        if let message = request.uri.queryParameters["testMessage"].map(String.init) {
            extra["testSend"] = try await TemplateTestSend(console: console).values(
                console.client(session), templateId: id, messageId: message)
        }
        if let profile = request.uri.queryParameters["profile"].map(String.init) { extra["testProfile"] = profile }
        return page(
            session, request, form: TemplateForm(channel: template.channel, record: template.record),
            template: template, extra: extra)
    }

    func update(_ request: Request, id: String) async throws -> Response {
        let session = try console.session(request)
        let fields = try await console.form(request, session)
        let client = console.client(session)
        let template = try await TemplateInfo.load(client, id: id, version: nil)
        var form = TemplateForm(channel: template.channel, form: fields)
        form.purpose = template.record["purpose"] as? String ?? form.purpose
        let (content, formProblems) = form.content()
        var problems = TemplateProblemList(formProblems: formProblems, channel: template.channel)
        if form.name.isEmpty {
            problems.byField["name"] = ["A template needs a name."]
            problems.summary.insert("Name: a template needs a name.", at: 0)
        }
        guard problems.isEmpty else {
            return page(
                session, request, form: form, template: template, problems: problems, status: .unprocessableContent)
        }
        let answer = try await client.send(
            .PUT, .messaging, "/templates/\(EngageAPI.segment(id))", json: ["name": form.name, "content": content])
        if answer.status == 404 { throw HTTPError(.notFound) }
        guard answer.ok else {
            return page(
                session, request, form: form, template: template,
                problems: TemplateProblemList(answer, channel: template.channel), status: .unprocessableContent)
        }
        let version = answer.dataObject["version"].map { "\($0)" } ?? "?"
        return console.redirect("/templates/\(EngageAPI.segment(id))", notice: "Saved as version \(version).")
    }

    func delete(_ request: Request, id: String) async throws -> Response {
        let session = try console.session(request)
        let fields = try await console.form(request, session)
        let answer = try await console.client(session).send(
            .DELETE, .messaging, "/templates/\(EngageAPI.segment(id))")
        if answer.status == 404 { throw HTTPError(.notFound) }
        guard answer.ok else {
            let template = try await TemplateInfo.load(console.client(session), id: id, version: nil)
            var problems = TemplateProblemList()
            problems.summary = answer.problems
            return page(
                session, request, form: TemplateForm(channel: template.channel, record: template.record),
                template: template, problems: problems, status: .conflict)
        }
        let name = fields["name"].map { "“\($0)” " } ?? ""
        return console.redirect("/templates", notice: "Template \(name)deleted.")
    }

    /// The editor page, new (`template` nil) or of a stored template.
    func page(
        _ session: ConsoleSession, _ request: Request, form: TemplateForm, template: TemplateInfo?,
        problems: TemplateProblemList = TemplateProblemList(), status: HTTPResponse.Status = .ok,
        extra: [String: Any] = [:]
    ) -> Response {
        var values = extra
        values["isNew"] = template == nil
        values["formAction"] = template.map { "/templates/\(EngageAPI.segment($0.id))" } ?? "/templates"
        values["channel"] = form.channel.rawValue
        values["channelLabel"] = form.channel.label
        values["isEmail"] = form.channel == .email
        values["name"] = form.name
        values["purpose"] = form.purpose
        values["isMarketing"] = form.purpose == "marketing"
        values["fields"] = form.fieldValues(errors: problems.byField)
        if let nameErrors = problems.byField["name"] { values["nameErrors"] = nameErrors }
        values["positionsJSON"] = problems.positionsJSON
        if let template { values["template"] = template.values }
        let title = template == nil ? "New \(form.channel.label) template" : form.name
        return console.page(
            "templates-edit", title: title.isEmpty ? "Template" : title, section: .templates, session: session,
            request: request, values: values, status: status, problems: problems.summary)
    }
}

/// A stored template as the editor shows it: the record (of the version asked for) and its versions.
struct TemplateInfo {
    var id: String
    var channel: TemplateChannel
    var record: [String: Any]
    var versions: [[String: Any]]

    /// 404 (the console's not-found page) when the template is not in the session's space.
    static func load(_ client: SpaceClient, id: String, version: Int?) async throws -> TemplateInfo {
        let path = "/templates/\(EngageAPI.segment(id))"
        async let recordAnswer = client.get(.messaging, path, query: version.map { [("version", "\($0)")] } ?? [])
        async let versionsAnswer = client.get(.messaging, path + "/versions")
        let (answer, versions) = try await (recordAnswer, versionsAnswer)
        guard answer.ok, let channel = TemplateChannel(loose: answer.dataObject["channel"] as? String) else {
            throw HTTPError(.notFound)
        }
        return TemplateInfo(id: id, channel: channel, record: answer.dataObject, versions: versions.dataList)
    }

    var version: Int { record["version"] as? Int ?? 0 }
    var currentVersion: Int { record["currentVersion"] as? Int ?? version }

    var values: [String: Any] {
        [
            "id": id, "version": version, "currentVersion": currentVersion, "isOldVersion": version != currentVersion,
            "nextVersion": currentVersion + 1, "purpose": record["purpose"] as? String ?? "",
            "versions": versions.reversed().map { summary -> [String: Any] in
                let number = summary["version"] as? Int ?? 0
                return [
                    "version": number, "created": DisplayText.minute(summary["createdAt"] as? String),
                    "href": "/templates/\(EngageAPI.segment(id))?version=\(number)",
                    "isShown": number == version, "isCurrent": number == currentVersion,
                ]
            },
        ]
    }
}
