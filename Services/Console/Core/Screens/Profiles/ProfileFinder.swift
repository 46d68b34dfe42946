import EngageClient
import Foundation
import Hummingbird

/// Finding a profile by any identifier: the lookup form (the identifier types are the space's
/// identity rules, plus `profile_id`), and the way from an identifier to the profile's canonical
/// page. The Profile API answers for the survivor of a merge, and its `/metadata` names it, so a
/// merged-away identifier or profile id lands on the profile it now belongs to.
struct ProfileFinder: Sendable {
    let console: Console

    /// The built-in types first (Segment's order), then the space's own, then the profile id.
    static let builtIn = ["user_id", "email", "anonymous_id", "phone"]

    static func label(_ type: String) -> String {
        switch type {
        case "user_id": "User id (user_id)"
        case "email": "Email (email)"
        case "anonymous_id": "Anonymous id (anonymous_id)"
        case "phone": "Phone (phone)"
        case "profile_id": "Profile id (profile_id)"
        default: type
        }
    }

    /// The identifier types to offer: built-ins and the space's custom types by priority.
    func types(_ client: SpaceClient) async throws -> [String] {
        let rules = try await client.get(.profiles, "/identity-rules")
        let custom = rules.dataList.sorted {
            (DisplayText.int($0["priority"]) ?? 0) < (DisplayText.int($1["priority"]) ?? 0)
        }
        .compactMap { $0["type"] as? String }.filter { !Self.builtIn.contains($0) }
        return Self.builtIn + custom + ["profile_id"]
    }

    /// The canonical page of a profile; `via` is the identifier it was looked up by.
    static func href(profileId: String, via: String? = nil) -> String {
        let path = "/profiles/" + EngageAPI.segment("profile_id:" + profileId)
        guard let via, via != "profile_id:" + profileId else { return path }
        return path + "?" + DisplayText.query([("via", via)])
    }

    /// What went wrong with a lookup, for the form.
    struct Miss: Error {
        var type: String
        var value: String
        var valueError: String?
        var notFound = false
        var problems: [String] = []
        var status: HTTPResponse.Status
    }

    /// The profile id behind `type:value` with its metadata, or why there is none.
    func resolve(_ client: SpaceClient, type: String, value: String) async throws -> Result<[String: Any], Miss> {
        let answer = try await client.profile("\(type):\(value)", "metadata")
        if answer.status == 404 {
            return .failure(Miss(type: type, value: value, notFound: true, status: .notFound))
        }
        guard answer.ok, let metadata = (answer.json as? [String: Any])?["metadata"] as? [String: Any],
            metadata["profile_id"] is String
        else {
            return .failure(
                Miss(
                    type: type, value: value, valueError: answer.problems.joined(separator: " "),
                    status: .unprocessableContent))
        }
        return .success(metadata)
    }

    /// The lookup form, empty or with a miss explained.
    func page(_ request: Request, _ session: ConsoleSession, types: [String], miss: Miss? = nil) -> Response {
        let chosen = miss?.type ?? "user_id"
        var values: [String: Any] = [
            "types": types.map { ["value": $0, "label": Self.label($0), "selected": $0 == chosen] },
            "value": miss?.value ?? "",
        ]
        if let miss {
            if let error = miss.valueError { values["valueError"] = error }
            if miss.notFound {
                values["notFound"] = ["type": miss.type, "value": miss.value, "isProfileId": miss.type == "profile_id"]
            }
        } else {
            values["intro"] = true
        }
        return console.page(
            "profiles-lookup", title: miss?.notFound == true ? "No such profile" : "Profiles", section: .profiles,
            session: session, request: request, values: values, status: miss?.status ?? .ok,
            problems: miss?.problems ?? [])
    }
}
