import EngageClient
import Foundation
import Hummingbird

/// Identity and sources: the identifiers profiles are resolved by (limits, priorities, where each
/// is read from), the sources with their write keys, and the space's access tokens. Secrets are
/// shown once, in the answer to the request that made them, and never stored by the console.
struct SettingsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/settings") { request, _ in
            let session = try console.session(request)
            return try await settingsPage(request, session)
        }
        router.post("/settings/identity-rules") { request, _ in
            let session = try console.session(request)
            let form = try await console.form(request, session)
            let type = form["type"]?.lowercased() ?? ""
            var body: [String: Any] = [:]
            var problems: [String] = []
            if type.isEmpty { problems.append("Enter the identifier's type, e.g. crm_id.") }
            if let priority = form.int("priority") {
                body["priority"] = priority
            } else {
                problems.append("Priority must be a whole number (1 is the most trusted).")
            }
            if let limit = form.int("limit") {
                body["limit"] = limit
            } else {
                problems.append("Limit must be a whole number: how many values a profile may hold.")
            }
            if let window = form["windowDays"] {
                guard let days = Int(window), days >= 1 else {
                    problems.append("The window is a number of days, at least 1, or empty for all time.")
                    return try await settingsPage(request, session, problems: problems, status: .unprocessableContent)
                }
                body["windowSeconds"] = days * 86400
            }
            switch form["source"] {
            case "trait": body["traitKey"] = form["key"] ?? type
            case "property": body["propertyKey"] = form["key"] ?? type
            default: break
            }
            guard problems.isEmpty else {
                return try await settingsPage(request, session, problems: problems, status: .unprocessableContent)
            }
            let answer = try await console.client(session).send(
                .PUT, .profiles, "/identity-rules/\(EngageAPI.segment(type))", json: body)
            guard answer.ok else {
                return try await settingsPage(
                    request, session, problems: answer.problems, status: .unprocessableContent)
            }
            return console.redirect("/settings", notice: "Identifier \(type) saved.")
        }
        router.post("/settings/sources") { request, _ in
            let session = try console.session(request)
            let form = try await console.form(request, session)
            let answer = try await console.client(session).send(
                .POST, .profiles, "/sources", json: ["name": form["name"] ?? ""])
            guard answer.ok else {
                return try await settingsPage(
                    request, session, problems: answer.problems, status: .unprocessableContent)
            }
            return try await secretPage(
                request, session, heading: "Source \(answer.dataObject["name"] as? String ?? "") created",
                label: "Write key", secret: answer.dataObject["writeKey"] as? String ?? "",
                hint: "Send events with it: any Segment library, with this as the write key. It is shown only now.")
        }
        router.post("/settings/sources/:source_id/rotate") { request, context in
            let session = try console.session(request)
            _ = try await console.form(request, session)
            let source = try context.parameters.require("source_id")
            let answer = try await console.client(session).send(
                .POST, .profiles, "/sources/\(EngageAPI.segment(source))/rotate-write-key")
            guard answer.ok else {
                return try await settingsPage(request, session, problems: answer.problems, status: .notFound)
            }
            return try await secretPage(
                request, session, heading: "New write key for \(answer.dataObject["name"] as? String ?? source)",
                label: "Write key", secret: answer.dataObject["writeKey"] as? String ?? "",
                hint: "The old key no longer works: update every client that sends with it. Shown only now.")
        }
        router.post("/settings/access-tokens") { request, _ in
            let session = try console.session(request)
            let form = try await console.form(request, session)
            let answer = try await console.client(session).send(
                .POST, .profiles, "/access-tokens", json: ["name": form["name"] ?? ""])
            guard answer.ok else {
                return try await settingsPage(
                    request, session, problems: answer.problems, status: .unprocessableContent)
            }
            return try await secretPage(
                request, session, heading: "Access token \(answer.dataObject["name"] as? String ?? "") created",
                label: "Access token", secret: answer.dataObject["token"] as? String ?? "",
                hint: "It opens this space's APIs and this console. It is shown only now.")
        }
        router.post("/settings/access-tokens/:token_id/revoke") { request, context in
            let session = try console.session(request)
            _ = try await console.form(request, session)
            let token = try context.parameters.require("token_id")
            let answer = try await console.client(session).send(
                .DELETE, .profiles, "/access-tokens/\(EngageAPI.segment(token))")
            guard answer.ok else {
                return try await settingsPage(request, session, problems: answer.problems, status: .conflict)
            }
            return console.redirect("/settings", notice: "Access token revoked.")
        }
    }

    private func settingsPage(
        _ request: Request, _ session: ConsoleSession, problems: [String] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let client = console.client(session)
        async let rules = client.get(.profiles, "/identity-rules")
        async let sources = client.get(.profiles, "/sources")
        async let tokens = client.get(.profiles, "/access-tokens")
        let ruleRows = try await rules.dataList.map { rule -> [String: Any] in
            let window = (rule["windowSeconds"] as? Int).map { "\($0 / 86400) days" } ?? "all time"
            let readFrom =
                (rule["traitKey"] as? String).map { "trait \($0)" } ?? (rule["propertyKey"] as? String).map {
                    "property \($0)"
                } ?? "the message (or context.externalIds)"
            return [
                "type": rule["type"] as? String ?? "", "priority": "\(rule["priority"] ?? "")",
                "limit": "\(rule["limit"] ?? "")", "window": window, "readFrom": readFrom,
            ]
        }
        let tokenRows = try await tokens.dataList.map { token -> [String: Any] in
            let id = token["id"] as? String ?? ""
            return [
                "id": id, "name": token["name"] as? String ?? "", "createdAt": token["createdAt"] as? String ?? "",
                "isThisSession": id == session.tokenId,
            ]
        }
        let sourceRows = try await sources.dataList.map { source -> [String: Any] in
            [
                "id": source["id"] as? String ?? "", "name": source["name"] as? String ?? "",
                "createdAt": source["createdAt"] as? String ?? "",
            ]
        }
        return console.page(
            "settings", title: "Identity and sources", section: .settings, session: session, request: request,
            values: [
                "rules": ruleRows, "sources": sourceRows, "hasSources": !sourceRows.isEmpty, "tokens": tokenRows,
            ], status: status, problems: problems)
    }

    private func secretPage(
        _ request: Request, _ session: ConsoleSession, heading: String, label: String, secret: String, hint: String
    ) async throws -> Response {
        console.secretPage(
            request, session, section: .settings, heading: heading, label: label, secret: secret, hint: hint,
            backHref: "/settings")
    }
}
