import Contracts
import EngageClient
import Foundation
import Hummingbird

/// What the audiences API answers, as the pages show it: status and build (backfill) progress,
/// versions, members, and a draft's preview.
enum AudienceViews {
    /// The answer's `data` as JSON values (numbers stay numbers, for the definition's JSON view).
    static func data(_ answer: EngageResponse) -> JSONValue? {
        guard case .object(let object)? = try? JSONParser.parse(Array(answer.body)) else { return nil }
        return object["data"]
    }

    /// The build's progress for the page's script: the block's HTML and whether to keep asking.
    static func progress(_ console: Console, _ answer: EngageResponse) -> Response {
        guard answer.ok else { return console.json(["message": answer.problems.first ?? ""], status: .notFound) }
        return console.json([
            "html": console.views.render("audiences-build", build(answer.dataObject)),
            "running": running(answer.dataObject),
        ])
    }

    static func status(_ record: [String: Any]) -> [String: Any] {
        let live = record["status"] as? String == "live"
        let phase = (record["build"] as? [String: Any])?["phase"] as? String
        let failed = phase == "failed"
        return [
            "statusLabel": failed ? "build failed" : live ? "live" : "building",
            "statusClass": failed ? "bad" : live ? "good" : "warn",
        ]
    }

    /// Whether the newest build is still working: the page follows it until it is done.
    static func running(_ record: [String: Any]) -> Bool {
        let phase = (record["build"] as? [String: Any])?["phase"] as? String ?? "done"
        return !["done", "failed", "superseded"].contains(phase)
    }

    /// The newest build (backfill) of a definition: its phase in words, and its counts.
    static func build(_ record: [String: Any]) -> [String: Any] {
        guard let build = record["build"] as? [String: Any] else {
            return ["phaseText": "No build yet.", "showEvents": false, "showProfiles": false, "running": false]
        }
        let number = { (key: String) in DisplayText.int(build[key]) ?? 0 }
        let version = DisplayText.int(build["version"]) ?? 0
        let phase = build["phase"] as? String ?? "pending"
        let text: String
        switch phase {
        case "pending": text = "Version \(version) is waiting to be built over the event history."
        case "scanning": text = "Building version \(version): reading the event history."
        case "evaluating": text = "Building version \(version): evaluating every profile once."
        case "done":
            text =
                "Version \(version) was built over the history: \(number("entered")) entered, \(number("exited")) exited"
                + ((build["finishedAt"] as? String).map { ", finished \(DisplayText.time($0))." } ?? ".")
        case "failed":
            text = "The build of version \(version) failed: \(build["error"] as? String ?? "no reason given")."
        case "superseded": text = "The build of version \(version) was replaced by a newer version's."
        default: text = "Version \(version): \(phase)."
        }
        return [
            "phaseText": text, "running": running(record),
            "showEvents": phase == "scanning", "eventsScanned": number("eventsScanned"),
            "eventsTotal": max(number("eventsTotal"), 1), "eventsTotalText": number("eventsTotal"),
            "showProfiles": phase == "evaluating", "profilesEvaluated": number("profilesEvaluated"),
            "profilesTotal": max(number("profilesTotal"), 1), "profilesTotalText": number("profilesTotal"),
        ]
    }

    /// Every version, newest first, with its definition as the JSON view prints it.
    static func versions(_ answer: EngageResponse, record: [String: Any]) -> [[String: Any]] {
        let live = DisplayText.int(record["liveVersion"])
        let current = DisplayText.int(record["version"])
        return (data(answer)?.arrayValue ?? []).reversed().map { item in
            let version = item.objectValue ?? [:]
            let number = version["version"]?.numberValue.map { Int($0) } ?? 0
            return [
                "version": number, "createdAt": DisplayText.time(version["createdAt"]?.stringValue),
                "isLive": number == live, "isBuilding": number == current && number != live,
                "definition": DefinitionJSON.pretty(version["definition"] ?? .null),
            ]
        }
    }

    static func member(_ member: [String: Any]) -> [String: Any] {
        let profileId = member["profileId"] as? String ?? ""
        let userId = member["userId"] as? String ?? ""
        let email = member["email"] as? String ?? ""
        return [
            "profileId": profileId, "href": "/profiles/" + EngageAPI.segment("profile_id:" + profileId),
            "name": !userId.isEmpty ? userId : !email.isEmpty ? email : profileId,
            "userId": userId, "email": email, "phone": member["phone"] as? String ?? "",
            "enteredAt": DisplayText.time(member["enteredAt"]),
        ]
    }

    static func preview(_ result: [String: Any]) -> [String: Any] {
        let size = DisplayText.int(result["estimatedSize"]) ?? 0
        let exact = result["exact"] as? Bool ?? false
        let total = DisplayText.int(result["profilesInSpace"]) ?? 0
        let sampled = DisplayText.int(result["sampled"]) ?? 0
        let matched = DisplayText.int(result["matchedInSample"]) ?? 0
        let profiles = size == 1 ? "1 profile" : "\(size) profiles"
        let sample = (result["sample"] as? [[String: Any]] ?? []).map(member)
        return [
            "sizeText": exact ? profiles : "About \(profiles)",
            "basisText": exact
                ? "Every one of the space's \(total) profiles was evaluated."
                : "Estimated from a random sample of \(sampled) of \(total) profiles, of which \(matched) match.",
            "sample": sample, "hasSample": !sample.isEmpty,
        ]
    }
}
