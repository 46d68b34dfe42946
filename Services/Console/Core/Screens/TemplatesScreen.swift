import Foundation
import Hummingbird

/// `/templates`: the space's templates, each one's versions, the editor (CodeMirror for email
/// HTML, plain fields for SMS and WhatsApp) with a live preview beside it, and test sends.
struct TemplatesScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        let editor = TemplateEditor(console: console)
        let preview = TemplatePreview(console: console)
        let testSend = TemplateTestSend(console: console)
        router.get("/templates") { request, _ in try await list(request) }
        router.get("/templates/new") { request, _ in try await editor.new(request) }
        router.post("/templates") { request, _ in try await editor.create(request) }
        router.post("/templates/preview") { request, _ in try await preview.call(request) }
        router.get("/templates/:id") { request, context in
            try await editor.show(request, id: try context.parameters.require("id"))
        }
        router.post("/templates/:id") { request, context in
            try await editor.update(request, id: try context.parameters.require("id"))
        }
        router.post("/templates/:id/delete") { request, context in
            try await editor.delete(request, id: try context.parameters.require("id"))
        }
        router.post("/templates/:id/test-send") { request, context in
            try await testSend.send(request, id: try context.parameters.require("id"))
        }
        router.get("/templates/:id/messages/:message") { request, context in
            try await testSend.state(request, message: try context.parameters.require("message"))
        }
    }

    func list(_ request: Request) async throws -> Response {
        let session = try console.session(request)
        let channel = TemplateChannel(loose: request.uri.queryParameters["channel"].map(String.init))
        let answer = try await console.client(session).get(
            .messaging, "/templates", query: channel.map { [("channel", $0.rawValue)] } ?? [])
        let rows = answer.dataList.sorted {
            ($0["name"] as? String ?? "").localizedCaseInsensitiveCompare($1["name"] as? String ?? "")
                == .orderedAscending
        }
        .map { record -> [String: Any] in
            let channel = TemplateChannel(loose: record["channel"] as? String)
            return [
                "id": record["id"] as? String ?? "", "name": record["name"] as? String ?? "",
                "channel": channel?.label ?? record["channel"] as? String ?? "",
                "purpose": record["purpose"] as? String ?? "",
                "version": "\(record["currentVersion"] ?? record["version"] ?? "")",
                "updated": DisplayText.minute(record["updatedAt"] as? String),
            ]
        }
        let filters = [("All", nil)] + TemplateChannel.allCases.map { ($0.label, Optional($0)) }
        return console.page(
            "templates-list", title: "Templates", section: .templates, session: session, request: request,
            values: [
                "templates": rows, "hasTemplates": !rows.isEmpty, "mergeTagExample": "{{profile.traits.first_name}}",
                "filtered": channel != nil,
                "filterLabel": channel?.label ?? "",
                "filters": filters.map { label, option in
                    [
                        "label": label,
                        "href": option.map { "/templates?channel=\($0.rawValue.lowercased())" }
                            ?? "/templates",
                        "current": option == channel,
                    ] as [String: Any]
                },
                "channels": TemplateChannel.allCases.map {
                    ["label": $0.label, "href": "/templates/new?channel=\($0.rawValue.lowercased())"]
                },
            ], problems: answer.ok ? [] : answer.problems)
    }
}
