import EngageClient
import Foundation
import Hummingbird

/// `POST /templates/preview` (JSON, from the editor's script): the draft in the editor rendered
/// by messaging-send for a profile (named as a person would name them) and/or typed traits.
/// Answers `{rendered, saveProblems, fieldProblems, renderedFor}`, or 422 `{problems, fieldProblems,
/// positions}` when it cannot render. Either way the fields' problems are what a save would say
/// now, so the page shows them beside the fields as the person types.
struct TemplatePreview: Sendable {
    let console: Console

    struct Call: Decodable {
        var templateId: String?
        var channel: String?
        var purpose: String?
        var fields: [String: String]?
        var profile: String?
        var traits: String?
    }

    func call(_ request: Request) async throws -> Response {
        let session = try console.session(request)
        try console.scriptCall(request, session)
        let body = try await request.body.collect(upTo: 2 * 1024 * 1024)
        guard let call = try? JSONDecoder().decode(Call.self, from: Data(buffer: body)),
            let channel = TemplateChannel(loose: call.channel)
        else {
            return console.json(
                ["message": "The preview needs the template's channel and fields."], status: .badRequest)
        }
        let form = TemplateForm(
            channel: channel, purpose: call.purpose ?? "marketing",
            fields: call.fields ?? [:])
        let (content, formProblems) = form.content()
        var problems = TemplateProblemList(formProblems: formProblems, channel: channel)
        var upstream: [String: Any] = ["content": content]
        var renderedFor: [String] = []
        switch Self.traits(call.traits ?? "") {
        case .success(let traits) where !traits.isEmpty:
            upstream["traits"] = traits
            renderedFor.append("typed traits")
        case .success: break
        case .failure(let problem):
            problems.byField["traits"] = [problem.text]
            problems.summary.append("Traits: \(problem.text)")
        }
        let client = console.client(session)
        if let typed = call.profile?.trimmingCharacters(in: .whitespaces), !typed.isEmpty {
            switch try await ProfileLookup(client: client).resolve(typed) {
            case .found(let profileId, let identifier):
                upstream["profileId"] = profileId
                renderedFor.insert(identifier, at: 0)
            case .problem(let text):
                problems.byField["profile"] = [text]
                problems.summary.append(text)
            }
        }
        guard problems.isEmpty else { return failure(problems) }
        let answer: EngageResponse
        if let templateId = call.templateId, !templateId.isEmpty {
            answer = try await client.send(
                .POST, .messaging, "/templates/\(EngageAPI.segment(templateId))/preview", json: upstream)
        } else {
            upstream["channel"] = channel.rawValue
            upstream["purpose"] = form.purpose
            answer = try await client.send(.POST, .messaging, "/templates/preview", json: upstream)
        }
        guard answer.ok else { return failure(TemplateProblemList(answer, channel: channel)) }
        let data = answer.dataObject
        var saveProblems = TemplateProblemList()
        for problem in data["saveProblems"] as? [[String: Any]] ?? [] {
            saveProblems.add(
                field: problem["field"] as? String ?? "", line: problem["line"] as? Int,
                column: problem["column"] as? Int, reason: problem["reason"] as? String ?? "", channel: channel)
        }
        return console.json([
            "rendered": data["rendered"] ?? [:],
            "saveProblems": saveProblems.summary,
            "fieldProblems": saveProblems.byField,
            "renderedFor": renderedFor.isEmpty ? "a profile without traits" : renderedFor.joined(separator: " with "),
        ])
    }

    func failure(_ problems: TemplateProblemList) -> Response {
        console.json(
            [
                "problems": problems.summary,
                "fieldProblems": problems.byField,
                "positions": problems.positions,
            ], status: .unprocessableContent)
    }

    struct TraitsProblem: Error { var text: String }

    /// A JSON object, or `name=value` lines (a value that reads as JSON, like `3` or `true`, is
    /// taken as such; anything else is text).
    static func traits(_ typed: String) -> Result<[String: Any], TraitsProblem> {
        let text = typed.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return .success([:]) }
        if text.hasPrefix("{") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                return .failure(TraitsProblem(text: "this is not a JSON object"))
            }
            return .success(object)
        }
        var traits: [String: Any] = [:]
        for (index, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let pair = line.trimmingCharacters(in: .whitespaces)
            guard !pair.isEmpty else { continue }
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                return .failure(TraitsProblem(text: "line \(index + 1): write name=value"))
            }
            let name = pair[..<equals].trimmingCharacters(in: .whitespaces)
            let value = pair[pair.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            traits[name] =
                (try? JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed]))
                .flatMap { $0 is String ? nil : $0 } ?? value
        }
        return .success(traits)
    }
}
