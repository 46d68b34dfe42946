import Contracts
import EngageClient
import Foundation

/// Where one person is in a journey: an identifier (`email:ada@example.com`, a phone, a user id)
/// resolved to a profile through the Profile API, then that profile's passes from
/// `GET /journeys/{id}/instances`.
struct JourneyLookup: Sendable {
    var identifier: String
    var profileId: String?
    var error: String?
    var passes: [[String: JSONValue]] = []

    /// "type:value" as typed; a bare value is read as an email (with @), a phone (+digits) or a user id.
    static func qualified(_ text: String) -> String {
        if text.contains(":") { return text }
        if text.contains("@") { return "email:\(text)" }
        if text.hasPrefix("+"), text.dropFirst().allSatisfy(\.isNumber) { return "phone:\(text)" }
        return "user_id:\(text)"
    }

    static func find(_ client: SpaceClient, journeyId: String, identifier: String) async throws -> JourneyLookup {
        var lookup = JourneyLookup(identifier: identifier)
        let qualified = qualified(identifier)
        let metadata = try await client.profile(qualified, "metadata")
        guard metadata.ok,
            let profileId = ((metadata.json as? [String: Any])?["metadata"] as? [String: Any])?["profile_id"] as? String
        else {
            lookup.error =
                metadata.status == 404
                ? "No profile has the identifier \(qualified)." : metadata.problems.joined(separator: " ")
            return lookup
        }
        lookup.profileId = profileId
        let answer = try await client.get(
            .journeys, "/journeys/\(EngageAPI.segment(journeyId))/instances", query: [("profileId", profileId)])
        guard answer.ok else {
            lookup.error = answer.problems.joined(separator: " ")
            return lookup
        }
        lookup.passes = (JourneyData.parse(answer)?.arrayValue ?? []).compactMap(\.objectValue)
        return lookup
    }

    /// The newest pass's paths on `version`, as step id -> what the profile is doing there.
    func here(version: Int?) -> [String: String] {
        guard let pass = passes.first, pass["version"]?.numberValue.map({ Int($0) }) == version else { return [:] }
        var here: [String: String] = [:]
        for path in pass["paths"]?.arrayValue ?? [] {
            guard let step = path["stepId"]?.stringValue else { continue }
            here[step] = Self.briefly(path)
        }
        return here
    }

    /// What the profile does at a step, short enough for its box on the graph.
    static func briefly(_ path: JSONValue) -> String {
        switch path["status"]?.stringValue {
        case "waiting": "is waiting here"
        case "ready": "is about to run it"
        case "done": "ended here"
        case let other: other ?? "is here"
        }
    }

    static func doing(_ path: JSONValue) -> String {
        switch path["status"]?.stringValue {
        case "waiting":
            let due = JourneyText.time(path["dueAt"])
            return due.isEmpty ? "waiting" : "waiting until \(due)"
        case "ready": return "about to run this step"
        case "done": return "its path ended here"
        case let other: return other ?? ""
        }
    }

    func view(journeyId: String, draft: JourneyDraft) -> [String: Any] {
        var view: [String: Any] = ["identifier": identifier]
        if let error { view["error"] = error }
        if let profileId {
            view["profileId"] = profileId
            view["profileHref"] = "/profiles/profile_id:\(EngageAPI.segment(profileId))"
        }
        view["searched"] = true
        view["none"] = error == nil && passes.isEmpty
        view["passes"] = passes.map { pass -> [String: Any] in
            let status = pass["status"]?.stringValue ?? ""
            var item: [String: Any] = [
                "version": pass["version"]?.numberValue.map { JourneyText.number($0) } ?? "",
                "status": status, "active": status == "active", "entered": JourneyText.time(pass["enteredAt"]),
                "paths": (pass["paths"]?.arrayValue ?? []).map { path -> [String: Any] in
                    let step = path["stepId"]?.stringValue ?? ""
                    return ["step": draft.title(step), "stepId": step, "doing": Self.doing(path)]
                },
            ]
            // Absent rather than empty: an empty string still opens a Mustache section.
            let exited = JourneyText.time(pass["exitedAt"])
            if !exited.isEmpty { item["exited"] = exited }
            let reason = JourneyText.exitReason(pass["exitReason"]?.stringValue)
            if !reason.isEmpty { item["reason"] = reason }
            return item
        }
        return view
    }
}
