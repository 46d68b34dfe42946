import EngageClient
import Foundation
import Hummingbird

/// Webhook destinations of the events source: create (the signing secret shown once), the delivery
/// log, pause and resume, replay of a time range, secret rotation, change and delete.
struct DestinationsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/destinations") { request, _ in
            let session = try console.session(request)
            return try await listPage(request, session)
        }
        router.post("/destinations") { request, _ in
            let session = try console.session(request)
            let form = try await console.form(request, session)
            var body: [String: Any] = ["name": form["name"] ?? "", "url": form["url"] ?? ""]
            if let events = Self.events(form) { body["events"] = events }
            let answer = try await console.client(session).send(.POST, .eventsSource, "/destinations", json: body)
            guard answer.ok else {
                return try await listPage(
                    request, session, problems: answer.problems, typed: form, status: .unprocessableContent)
            }
            let destination = answer.dataObject
            return console.secretPage(
                request, session, section: .destinations,
                heading: "Destination \(destination["name"] as? String ?? "") created", label: "Signing secret",
                secret: destination["secret"] as? String ?? "",
                hint:
                    "Deliveries are signed the Standard Webhooks way with this secret: verify webhook-signature with it. It is shown only now.",
                backHref: "/destinations/\(EngageAPI.segment(destination["id"] as? String ?? ""))")
        }
        router.get("/destinations/:id") { request, context in
            let session = try console.session(request)
            return try await detailPage(request, session, id: try context.parameters.require("id"))
        }
        router.post("/destinations/:id/:action") { request, context in
            let session = try console.session(request)
            let form = try await console.form(request, session)
            let id = try context.parameters.require("id")
            let path = "/destinations/\(EngageAPI.segment(id))"
            let client = console.client(session)
            let answer: EngageResponse
            let notice: String
            switch try context.parameters.require("action") {
            case "update":
                var body: [String: Any] = ["name": form["name"] ?? "", "url": form["url"] ?? ""]
                body["events"] = Self.events(form) ?? []
                answer = try await client.send(.PATCH, .eventsSource, path, json: body)
                notice = "Destination saved."
            case "pause":
                answer = try await client.send(.POST, .eventsSource, path + "/pause")
                notice = "Destination paused: events queue until you resume it."
            case "resume":
                answer = try await client.send(.POST, .eventsSource, path + "/resume")
                notice = "Destination resumed: queued events go out in order."
            case "replay":
                guard let from = Self.isoTime(form["from"]) else {
                    return try await detailPage(
                        request, session, id: id, problems: ["Choose the start of the range to replay."],
                        status: .unprocessableContent)
                }
                var body: [String: Any] = ["from": from]
                if let to = Self.isoTime(form["to"]) { body["to"] = to }
                answer = try await client.send(.POST, .eventsSource, path + "/replay", json: body)
                let queued = answer.dataObject["queued"].map { "\($0)" } ?? "the"
                notice = "Replay queued \(queued) events."
            case "rotate-secret":
                answer = try await client.send(.POST, .eventsSource, path + "/rotate-secret")
                if answer.ok {
                    return console.secretPage(
                        request, session, section: .destinations, heading: "New signing secret",
                        label: "Signing secret", secret: answer.dataObject["secret"] as? String ?? "",
                        hint: "Deliveries are signed with this secret from now on. It is shown only now.",
                        backHref: "/destinations/\(EngageAPI.segment(id))")
                }
                notice = ""
            case "delete":
                answer = try await client.send(.DELETE, .eventsSource, path)
                if answer.ok { return console.redirect("/destinations", notice: "Destination deleted.") }
                notice = ""
            default:
                throw HTTPError(.notFound)
            }
            guard answer.ok else {
                return try await detailPage(
                    request, session, id: id, problems: answer.problems, status: .unprocessableContent)
            }
            return console.redirect("/destinations/\(EngageAPI.segment(id))", notice: notice)
        }
    }

    /// Event names or prefixes (`Email *`), one per line or comma-separated; nil for every event.
    static func events(_ form: FormFields) -> [String]? {
        let names = form.raw("events").split(whereSeparator: { $0 == "," || $0.isNewline })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return names.isEmpty ? nil : names
    }

    /// A `datetime-local` value (the browser's local time, sent with its offset by the page's
    /// `tz` field) as ISO 8601.
    static func isoTime(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        let withSeconds = value.count == 16 ? value + ":00" : value
        return withSeconds.hasSuffix("Z") || withSeconds.contains("+") ? withSeconds : withSeconds + "Z"
    }

    private func listPage(
        _ request: Request, _ session: ConsoleSession, problems: [String] = [], typed: FormFields? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let answer = try await console.client(session).get(.eventsSource, "/destinations")
        let rows = answer.dataList.map(Self.summary)
        return console.page(
            "destinations", title: "Destinations", section: .destinations, session: session, request: request,
            values: [
                "destinations": rows, "hasDestinations": !rows.isEmpty,
                "typed": [
                    "name": typed?.raw("name") ?? "", "url": typed?.raw("url") ?? "",
                    "events": typed?.raw("events") ?? "",
                ],
            ], status: status, problems: problems)
    }

    private func detailPage(
        _ request: Request, _ session: ConsoleSession, id: String, problems: [String] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let client = console.client(session)
        let path = "/destinations/\(EngageAPI.segment(id))"
        let deliveryStatus = request.uri.queryParameters.get("status").flatMap {
            ["pending", "delivered"].contains($0) ? $0 : nil
        }
        var query: [(String, String)] = [("limit", "50")]
        if let deliveryStatus { query.append(("status", deliveryStatus)) }
        if let cursor = request.uri.queryParameters.get("cursor") { query.append(("cursor", cursor)) }
        async let destinationAnswer = client.get(.eventsSource, path)
        async let deliveriesAnswer = client.get(.eventsSource, path + "/deliveries", query: query)
        let destination = try await destinationAnswer
        guard destination.ok else { throw HTTPError(.notFound) }
        let deliveries = try await deliveriesAnswer
        let rows = deliveries.dataList.map { delivery -> [String: Any] in
            let state = delivery["status"] as? String ?? ""
            return [
                "event": delivery["event"] as? String ?? "", "eventId": delivery["eventId"] as? String ?? "",
                "status": state, "good": state == "delivered",
                "attempts": "\(delivery["attempts"] ?? 0)",
                "lastStatus": delivery["lastStatus"].map { "\($0)" } ?? "",
                "lastError": delivery["lastError"] as? String ?? "",
                "nextAttemptAt": delivery["nextAttemptAt"] as? String ?? "",
                "createdAt": delivery["createdAt"] as? String ?? "",
                "deliveredAt": delivery["deliveredAt"] as? String ?? "",
            ]
        }
        let next = (deliveries.json as? [String: Any])?["next"] as? String
        var nextHref: String?
        if let next {
            var components = URLComponents()
            components.path = path
            components.queryItems =
                [URLQueryItem(name: "cursor", value: next)]
                + (deliveryStatus.map { [URLQueryItem(name: "status", value: $0)] } ?? [])
            nextHref = components.string
        }
        var summary = Self.summary(destination.dataObject)
        summary["eventsText"] = (destination.dataObject["events"] as? [String] ?? []).joined(separator: "\n")
        return console.page(
            "destinations-detail", title: summary["name"] as? String ?? "Destination", section: .destinations,
            session: session, request: request,
            values: [
                "destination": summary, "deliveries": rows, "hasDeliveries": !rows.isEmpty,
                "nextHref": nextHref as Any, "filterAll": deliveryStatus == nil,
                "filterPending": deliveryStatus == "pending", "filterDelivered": deliveryStatus == "delivered",
            ], status: status, problems: problems)
    }

    static func summary(_ destination: [String: Any]) -> [String: Any] {
        let status = destination["status"] as? String ?? ""
        let events = destination["events"] as? [String] ?? []
        return [
            "id": destination["id"] as? String ?? "", "name": destination["name"] as? String ?? "",
            "url": destination["url"] as? String ?? "", "status": status, "paused": status == "paused",
            "pausedReason": destination["pausedReason"] as? String ?? "",
            "events": events.isEmpty ? "every event" : events.joined(separator: ", "),
            "pending": "\(destination["pending"] ?? 0)", "delivered": "\(destination["delivered"] ?? 0)",
            "consecutiveFailures": "\(destination["consecutiveFailures"] ?? 0)",
            "lastSuccessAt": destination["lastSuccessAt"] as? String ?? "never",
            "lastFailureAt": destination["lastFailureAt"] as? String ?? "never",
        ]
    }
}
