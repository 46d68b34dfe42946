import EngageClient
import Foundation
import Hummingbird

/// Test sends: the stored template sent to one profile through messaging-send's test-send API (the
/// real send path, marked test: consent does not apply and analytics do not count it), and the
/// resulting message's state, which the page watches until it settles.
struct TemplateTestSend: Sendable {
    let console: Console

    static let finalStates: Set<String> = ["sent", "failed", "skipped", "unknown"]

    func send(_ request: Request, id: String) async throws -> Response {
        let session = try console.session(request)
        let fields = try await console.form(request, session)
        let client = console.client(session)
        let typed = fields["profile"] ?? ""
        var problem: String?
        if typed.isEmpty {
            problem = "Name the profile to send to: an email, a phone number or a user id."
        } else {
            switch try await ProfileLookup(client: client).resolve(typed) {
            case .problem(let text): problem = text
            case .found(let profileId, let identifier):
                let answer = try await client.send(
                    .POST, .messaging, "/templates/\(EngageAPI.segment(id))/test-sends",
                    json: ["profileId": profileId])
                if answer.status == 404 { throw HTTPError(.notFound) }
                if answer.ok, let message = answer.dataObject["messageId"] as? String {
                    var components = URLComponents()
                    components.path = "/templates/\(id)"
                    components.queryItems = [
                        .init(name: "testMessage", value: message), .init(name: "profile", value: typed),
                    ]
                    return console.redirect(
                        components.string ?? "/templates", notice: "Test send queued for \(identifier).")
                }
                problem = answer.problems.joined(separator: " ")
            }
        }
        let template = try await TemplateInfo.load(client, id: id, version: nil)
        var problems = TemplateProblemList()
        problems.summary = ["Test send: \(problem ?? "")"]
        return TemplateEditor(console: console).page(
            session, request, form: TemplateForm(channel: template.channel, record: template.record),
            template: template, problems: problems, status: .unprocessableContent,
            extra: ["testProfile": typed, "testProfileErrors": [problem ?? ""]])
    }

    /// `GET /templates/{id}/messages/{message}`: the message's state as JSON, for the page's script.
    func state(_ request: Request, message: String) async throws -> Response {
        let session = try console.session(request)
        return console.json(try await values(console.client(session), templateId: nil, messageId: message))
    }

    /// The message as the page shows it; "waiting" until messaging-send has read the request.
    func values(_ client: SpaceClient, templateId: String?, messageId: String) async throws -> [String: Any] {
        let answer = try await client.get(.messaging, "/messages/\(EngageAPI.segment(messageId))")
        var values: [String: Any] = ["messageId": messageId]
        if let templateId {
            values["pollUrl"] =
                "/templates/\(EngageAPI.segment(templateId))/messages/\(EngageAPI.segment(messageId))"
        }
        guard answer.ok else {
            values["state"] = "waiting"
            values["badge"] = "warn"
            values["detail"] = "messaging-send has not read the request yet."
            values["isFinal"] = false
            return values
        }
        let message = answer.dataObject
        let state = message["state"] as? String ?? "unknown"
        values["state"] = state
        values["isFinal"] = Self.finalStates.contains(state)
        values["badge"] =
            switch state {
            case "sent": "good"
            case "failed", "skipped": "bad"
            default: "warn"
            }
        var detail: [String] = []
        if let recipient = message["recipient"] as? String { detail.append("to \(recipient)") }
        if let delivery = message["deliveryStatus"] as? String { detail.append("provider status \(delivery)") }
        if let reason = message["reason"] as? String { detail.append("reason: \(reason)") }
        if let error = message["errorMessage"] as? String { detail.append(error) }
        values["detail"] = detail.joined(separator: "; ")
        return values
    }
}
