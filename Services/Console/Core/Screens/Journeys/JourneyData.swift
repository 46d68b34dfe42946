import Contracts
import EngageClient
import Foundation
import Hummingbird

/// One journey as the journeys API reports it (record, draft, per-step counts, versions), with
/// what its forms pick from: messaging-send's templates and the audiences.
struct JourneyData: Sendable {
    var id: String
    var name: String
    var status: String
    var currentVersion: Int?
    var draft: JourneyDraft
    var stats: JSONValue
    var versions: [[String: JSONValue]]
    var templates: [JourneyStepForm.TemplateOption]
    var audiences: [(id: String, name: String)]

    /// The journey, or a 404 page when the space has no such journey. `audiences: false` skips
    /// what only the forms need (the graph's refresh, every few seconds).
    static func load(_ client: SpaceClient, id: String, audiences withAudiences: Bool = true) async throws
        -> JourneyData
    {
        let path = "/journeys/\(EngageAPI.segment(id))"
        async let recordAnswer = client.get(.journeys, path)
        async let statsAnswer = client.get(.journeys, path + "/stats")
        async let versionsAnswer = client.get(.journeys, path + "/versions")
        // The pickers are a help, not a need: the page works without them.
        async let templatesAnswer = try? client.get(.messaging, "/templates")
        async let audiencesAnswer = withAudiences ? try? client.get(.audiences, "/audiences") : nil
        let record = try await recordAnswer
        guard record.ok else { throw HTTPError(.notFound) }
        let data = parse(record)
        let templates = (parse(await templatesAnswer)?.arrayValue ?? []).compactMap {
            item -> JourneyStepForm.TemplateOption? in
            guard let id = item["id"]?.stringValue else { return nil }
            return .init(
                id: id, name: item["name"]?.stringValue ?? id, channel: item["channel"]?.stringValue ?? "",
                purpose: item["purpose"]?.stringValue ?? "")
        }
        .sorted { $0.name.localizedCaseInsensitiveCompare($1.name) == .orderedAscending }
        let audiences = (parse(await audiencesAnswer)?.arrayValue ?? []).compactMap {
            item -> (id: String, name: String)? in
            guard let id = item["id"]?.stringValue else { return nil }
            return (id, item["name"]?.stringValue ?? item["key"]?.stringValue ?? id)
        }
        return JourneyData(
            id: id, name: data?["name"]?.stringValue ?? id, status: data?["status"]?.stringValue ?? "draft",
            currentVersion: data?["currentVersion"]?.numberValue.map { Int($0) }, draft: JourneyDraft(data?["draft"]),
            stats: parse(try await statsAnswer) ?? .null,
            versions: (parse(try await versionsAnswer)?.arrayValue ?? []).compactMap(\.objectValue),
            templates: templates, audiences: audiences)
    }

    /// `data` of a `{"data": ...}` answer, as JSON values (numbers and booleans kept apart).
    static func parse(_ answer: EngageResponse?) -> JSONValue? {
        guard let answer, answer.ok, let json = try? JSONParser.parse(Array(answer.body)) else { return nil }
        return json["data"]
    }

    var isArchived: Bool { status == "archived" }

    func version(_ number: Int) -> [String: JSONValue]? {
        versions.first { $0["version"]?.numberValue.map { Int($0) } == number }
    }

    /// Per-step counts of one version.
    func counts(version: Int) -> [String: JourneyGraph.Counts] {
        var counts: [String: JourneyGraph.Counts] = [:]
        for step in stats["steps"]?.arrayValue ?? [] {
            guard step["version"]?.numberValue.map({ Int($0) }) == version, let id = step["stepId"]?.stringValue
            else { continue }
            func count(_ key: String) -> Int { step[key]?.numberValue.map { Int($0) } ?? 0 }
            counts[id] = .init(
                now: count("now"), entered: count("entered"), completed: count("completed"), exited: count("exited"),
                converted: count("converted"))
        }
        return counts
    }

    func total(_ key: String) -> Int { stats[key]?.numberValue.map { Int($0) } ?? 0 }

    var templateNames: [String: String] {
        Dictionary(templates.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
    }

    /// Saves a draft (and a new name): the API's answer, for its problems when refused.
    static func save(
        _ client: SpaceClient, id: String, definition: JSONValue? = nil, name: String? = nil
    ) async throws -> EngageResponse {
        var body: [String: JSONValue] = [:]
        if let definition { body["definition"] = definition }
        if let name { body["name"] = .string(name) }
        return try await client.send(
            .PATCH, .journeys, "/journeys/\(EngageAPI.segment(id))",
            body: .json(Data(JSONValue.object(body).json.utf8)))
    }
}
