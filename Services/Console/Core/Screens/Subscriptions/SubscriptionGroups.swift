import EngageClient
import Foundation
import Hummingbird

/// Email subscription groups: list, create, rename (with the description) and delete, through the
/// subscriptions service's groups API. A group is also a column of the CSV template.
struct SubscriptionGroups: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/subscriptions/groups") { request, _ in
            let session = try console.session(request)
            return try await listPage(request, session)
        }
        router.post("/subscriptions/groups") { request, _ in
            let session = try console.session(request)
            let form = try await console.form(request, session)
            let typed = ["name": form.raw("name"), "description": form.raw("description")]
            guard let name = form["name"] else {
                return try await listPage(
                    request, session, typed: typed, nameError: "Enter a name for the group.",
                    status: .unprocessableContent)
            }
            let answer = try await console.client(session).send(
                .POST, .subscriptions, "/subscription-groups",
                json: ["name": name, "description": form["description"] ?? ""])
            guard answer.ok else {
                return try await listPage(
                    request, session, typed: typed, nameError: answer.problems.joined(separator: " "),
                    status: .unprocessableContent)
            }
            return console.redirect("/subscriptions/groups", notice: "Group \(name) created.")
        }
        router.get("/subscriptions/groups/:group_id") { request, context in
            let session = try console.session(request)
            let id = try context.parameters.require("group_id")
            guard let group = try await find(id, session) else { throw HTTPError(.notFound) }
            return editPage(request, session, group: group, typed: nil)
        }
        router.post("/subscriptions/groups/:group_id") { request, context in
            let session = try console.session(request)
            let form = try await console.form(request, session)
            let id = try context.parameters.require("group_id")
            guard let group = try await find(id, session) else { throw HTTPError(.notFound) }
            let typed = ["name": form.raw("name"), "description": form.raw("description")]
            guard let name = form["name"] else {
                return editPage(
                    request, session, group: group, typed: typed, nameError: "A group needs a name.",
                    status: .unprocessableContent)
            }
            let answer = try await console.client(session).send(
                .PATCH, .subscriptions, "/subscription-groups/\(EngageAPI.segment(id))",
                json: ["name": name, "description": form.raw("description")])
            guard answer.ok else {
                return editPage(
                    request, session, group: group, typed: typed, nameError: answer.problems.joined(separator: " "),
                    status: .unprocessableContent)
            }
            let old = group["name"] as? String ?? ""
            return console.redirect(
                "/subscriptions/groups",
                notice: old == name ? "Group \(name) saved." : "Group \(old) renamed to \(name).")
        }
        router.post("/subscriptions/groups/:group_id/delete") { request, context in
            let session = try console.session(request)
            _ = try await console.form(request, session)
            let id = try context.parameters.require("group_id")
            let group = try await find(id, session)
            let answer = try await console.client(session).send(
                .DELETE, .subscriptions, "/subscription-groups/\(EngageAPI.segment(id))")
            guard answer.ok else {
                return try await listPage(request, session, problems: answer.problems, status: .unprocessableContent)
            }
            return console.redirect(
                "/subscriptions/groups", notice: "Group \(group?["name"] as? String ?? id) deleted.")
        }
    }

    /// The API has no read of one group: it is found in the list.
    private func find(_ id: String, _ session: ConsoleSession) async throws -> [String: Any]? {
        let answer = try await console.client(session).get(.subscriptions, "/subscription-groups")
        return answer.dataList.first { $0["id"] as? String == id }
    }

    private func listPage(
        _ request: Request, _ session: ConsoleSession, typed: [String: String] = [:], nameError: String? = nil,
        problems: [String] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let answer = try await console.client(session).get(.subscriptions, "/subscription-groups")
        let groups = answer.dataList.map { group -> [String: Any] in
            [
                "id": group["id"] as? String ?? "", "name": group["name"] as? String ?? "",
                "description": group["description"] as? String ?? "",
                "createdAt": DisplayText.time(group["createdAt"]),
            ]
        }
        var values: [String: Any] = [
            "tabGroups": true, "groups": groups, "hasGroups": !groups.isEmpty,
            "typedName": typed["name"] ?? "", "typedDescription": typed["description"] ?? "",
        ]
        if let nameError { values["nameError"] = nameError }
        return console.page(
            "subscriptions-groups", title: "Subscription groups", section: .subscriptions, session: session,
            request: request, values: values, status: status, problems: problems)
    }

    private func editPage(
        _ request: Request, _ session: ConsoleSession, group: [String: Any], typed: [String: String]?,
        nameError: String? = nil, status: HTTPResponse.Status = .ok
    ) -> Response {
        let name = group["name"] as? String ?? ""
        var values: [String: Any] = [
            "tabGroups": true, "id": group["id"] as? String ?? "", "name": name,
            "typedName": typed?["name"] ?? name,
            "typedDescription": typed?["description"] ?? group["description"] as? String ?? "",
            "createdAt": DisplayText.time(group["createdAt"]),
        ]
        if let nameError { values["nameError"] = nameError }
        return console.page(
            "subscriptions-group-edit", title: "Group \(name)", section: .subscriptions, session: session,
            request: request, values: values, status: status)
    }
}
