import EngageClient
import Foundation
import Hummingbird

/// `/analytics`: message figures over time from events-source (sent, delivered, opened, clicked,
/// converted and the rest), overall or by channel, template, journey, step or broadcast, with
/// rates; a Chart.js chart and, beside it, the same figures as tables.
struct AnalyticsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/analytics") { request, _ in try await show(request) }
    }

    func show(_ request: Request) async throws -> Response {
        let session = try console.session(request)
        var parameters: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { parameters[String(name)] = String(value) }
        var query = AnalyticsQuery(parameters)
        var values = query.values
        let client = console.client(session)
        guard query.problems.isEmpty, let upstream = query.upstream else {
            if query.upstream == nil { query.problems.append("Dates: give a start and an end date, the start first.") }
            return page(session, request, values: values, problems: query.problems, status: .unprocessableContent)
        }
        async let answer = client.get(.eventsSource, "/analytics/messages", query: upstream)
        async let loadedNames = names(client, for: query)
        let (report, names) = try await (answer, loadedNames)
        values["filterNames"] = query.filters.map { name, value in
            [
                "text": "\(Self.filterLabel[name] ?? name): \(names[value] ?? value)",
                "clearHref": clearHref(parameters, removing: name),
            ]
        }
        guard report.ok else {
            return page(session, request, values: values, problems: report.problems, status: .unprocessableContent)
        }
        let figures = AnalyticsReport(data: report.dataObject, query: query, names: names)
        values.merge(figures.values) { _, new in new }
        values["hasReport"] = true
        return page(session, request, values: values, problems: [])
    }

    static let filterLabel = [
        "templateId": "Template", "journeyId": "Journey", "stepId": "Step", "broadcastId": "Broadcast",
    ]

    func page(
        _ session: ConsoleSession, _ request: Request, values: [String: Any], problems: [String],
        status: HTTPResponse.Status = .ok
    ) -> Response {
        console.page(
            "analytics", title: "Analytics", section: .analytics, session: session, request: request, values: values,
            status: status, problems: problems)
    }

    /// This page's address without one of the carried filters.
    func clearHref(_ parameters: [String: String], removing name: String) -> String {
        var components = URLComponents()
        components.path = "/analytics"
        components.queryItems = parameters.filter { $0.key != name }.sorted { $0.key < $1.key }.map {
            URLQueryItem(name: $0.key, value: $0.value)
        }
        return components.string ?? "/analytics"
    }

    enum NameSource: Hashable { case templates, journeys, broadcasts }

    /// Names of the templates, journeys or broadcasts the report's groups and filters name by id.
    func names(_ client: SpaceClient, for query: AnalyticsQuery) async throws -> [String: String] {
        var wanted = Set<NameSource>()
        switch query.groupBy {
        case "template": wanted.insert(.templates)
        case "journey", "step": wanted.insert(.journeys)
        case "broadcast": wanted.insert(.broadcasts)
        default: break
        }
        for (name, _) in query.filters {
            switch name {
            case "templateId": wanted.insert(.templates)
            case "journeyId": wanted.insert(.journeys)
            case "broadcastId": wanted.insert(.broadcasts)
            default: break
            }
        }
        async let templates = wanted.contains(.templates) ? client.get(.messaging, "/templates").dataList : []
        async let journeys = wanted.contains(.journeys) ? client.get(.journeys, "/journeys").dataList : []
        async let broadcasts = wanted.contains(.broadcasts) ? client.get(.journeys, "/broadcasts").dataList : []
        var names: [String: String] = [:]
        for item in try await templates + journeys + broadcasts {
            if let id = item["id"] as? String, let name = item["name"] as? String { names[id] = name }
        }
        return names
    }
}
