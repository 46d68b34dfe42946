import EngageClient
import Foundation
import Hummingbird

/// A contact's consent: look an email address or phone number up, see its state on each channel
/// and email group with the audit trail, and change a state (`PUT /messaging-subscriptions` with
/// one item, so the rules — newest wins, global unsubscribe, STOP replies — are the service's).
struct ContactStates: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/subscriptions") { request, _ in
            let session = try console.session(request)
            let query = request.uri.queryParameters
            let key = query.get("key")?.trimmingCharacters(in: .whitespacesAndNewlines)
            return try await page(
                request, session, key: key?.isEmpty == false ? key : nil, before: query.get("before"))
        }
        router.post("/subscriptions/states") { request, _ in
            let session = try console.session(request)
            return try await change(request, session, try await console.form(request, session))
        }
    }

    /// The change form's typed values, kept across a refused change.
    struct Change {
        var channel: String?
        var group: String?
        var status: String?
    }

    private func change(_ request: Request, _ session: ConsoleSession, _ form: FormFields) async throws -> Response {
        let typed = Change(channel: form["channel"], group: form["group"], status: form["status"])
        guard let key = form["key"] else {
            return try await page(
                request, session, key: nil, problems: ["Enter the email address or phone number to change."],
                status: .unprocessableContent)
        }
        var problems: [String] = []
        let channel = typed.channel ?? ""
        if !["EMAIL", "SMS", "WHATSAPP"].contains(channel) {
            problems.append("Choose a channel: Email, SMS or WhatsApp.")
        }
        let status = typed.status ?? ""
        if !ConsentDisplay.settable.contains(status) {
            problems.append("Choose the new state: Subscribed, Unsubscribed or Did not subscribe.")
        }
        if typed.group != nil, channel != "EMAIL" { problems.append("Subscription groups exist for email only.") }
        guard problems.isEmpty else {
            return try await page(
                request, session, key: key, typed: typed, problems: problems, status: .unprocessableContent)
        }
        var item: [String: Any] = ["key": key, "type": channel]
        if let group = typed.group {
            item["groups"] = [["name": group, "status": status]]
        } else {
            item["status"] = status
        }
        let answer = try await console.client(session).send(
            .PUT, .subscriptions, "/messaging-subscriptions", json: ["subscriptions": [item]])
        guard answer.ok else {
            return try await page(
                request, session, key: key, typed: typed, problems: answer.problems, status: .unprocessableContent)
        }
        let result = (answer.dataObject["results"] as? [[String: Any]])?.first ?? [:]
        let what =
            "\(typed.group.map { "The \($0) group state" } ?? "The \(ConsentDisplay.channelLabel(channel)) state") of \(key)"
        let location = "/subscriptions?" + DisplayText.query([("key", key)])
        switch result["result"] as? String {
        case "rejected":
            let errors = (result["errors"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
            return try await page(
                request, session, key: key, typed: typed,
                problems: errors.isEmpty ? ["The subscriptions service refused the change."] : errors.map(Self.plain),
                status: .unprocessableContent)
        case "unchanged":
            return console.redirect(
                location, notice: "\(what) was already \(ConsentDisplay.label(status)); nothing changed.")
        default:
            return console.redirect(location, notice: "\(what) is now \(ConsentDisplay.label(status)).")
        }
    }

    /// An item error without its position in the call ("subscriptions[0]: ..."), which means nothing here.
    static func plain(_ message: String) -> String {
        guard message.hasPrefix("subscriptions["), let colon = message.range(of: ": ") else { return message }
        return String(message[colon.upperBound...])
    }

    private func page(
        _ request: Request, _ session: ConsoleSession, key: String?, before: String? = nil, typed: Change? = nil,
        problems: [String] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let client = console.client(session)
        var values: [String: Any] = ["tabContacts": true, "key": key ?? ""]
        var status = status
        if let key {
            var historyQuery = [("key", key), ("limit", "20")]
            if let before { historyQuery.append(("before", before)) }
            async let statesCall = client.get(.subscriptions, "/messaging-subscriptions", query: [("key", key)])
            async let historyCall = client.get(
                .subscriptions, "/messaging-subscriptions/history", query: historyQuery)
            async let groupsCall = client.get(.subscriptions, "/subscription-groups")
            let (states, history, groups) = try await (statesCall, historyCall, groupsCall)
            if states.ok {
                values["contact"] = contact(
                    states.dataObject, history: history, groups: groups.dataList, typed: typed, before: before)
            } else {
                values["keyError"] = states.problems.joined(separator: " ")
                if status == .ok { status = .unprocessableContent }
            }
        }
        return console.page(
            "subscriptions-contacts", title: key.map { "Subscriptions of \($0)" } ?? "Subscriptions",
            section: .subscriptions, session: session, request: request, values: values, status: status,
            problems: problems)
    }

    private func contact(
        _ states: [String: Any], history: EngageResponse, groups: [[String: Any]], typed: Change?, before: String?
    ) -> [String: Any] {
        let key = states["key"] as? String ?? ""
        let channels = (states["channels"] as? [[String: Any]] ?? []).map(ConsentDisplay.channel)
        let channelCodes = channels.compactMap { $0["channel"] as? String }
        let isEmail = channelCodes.contains("EMAIL")
        let chosenChannel = typed?.channel ?? channelCodes.first ?? ""
        let entries = history.dataList.map(ConsentDisplay.historyEntry)
        var contact: [String: Any] = [
            "key": key, "channels": channels, "isEmail": isEmail,
            "noStatusAnywhere": channels.allSatisfy { ($0["badge"] as? String) == "" },
            "profileHref": "/profiles/\(EngageAPI.segment((isEmail ? "email:" : "phone:") + key))",
            "channelOptions": channelCodes.map {
                ["value": $0, "label": ConsentDisplay.channelLabel($0), "selected": $0 == chosenChannel]
            },
            "statusOptions": ConsentDisplay.settable.map {
                ["value": $0, "label": ConsentDisplay.label($0), "selected": $0 == typed?.status]
            },
            "history": entries, "hasHistory": !entries.isEmpty, "olderPage": before != nil,
        ]
        if isEmail {
            contact["groupOptions"] = groups.compactMap { $0["name"] as? String }.map {
                ["value": $0, "selected": $0 == typed?.group]
            }
        }
        if let next = (history.json as? [String: Any])?["next"] as? String {
            contact["olderHref"] = "/subscriptions?" + DisplayText.query([("key", key), ("before", next)]) + "#history"
        }
        contact["newestHref"] = "/subscriptions?" + DisplayText.query([("key", key)]) + "#history"
        return contact
    }
}
