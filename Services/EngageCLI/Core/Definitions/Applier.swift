import Contracts
import EngageClient
import Foundation

/// Carries out a plan, in its order, and reports each change as it lands. A service's refusal
/// stops it there (what landed before stays; a second apply continues from the new state).
struct Applier {
    let space: SpaceClient
    let root: String
    let environment: [String: String]
    var remote: RemoteSpace
    /// The signing secret of each webhook destination this apply created (shown once by the service).
    var createdSecrets: [String: String] = [:]
    /// Called after each change with a line for a person.
    let report: (String) -> Void

    /// The services' own checks that change nothing, run before anything is written: template
    /// drafts (merge tags, required fields), audience and computed-trait definitions, journeys
    /// (as publish checks them, templates this apply creates counted), and provider credentials.
    func dryRunProblems(_ plan: Plan) async throws(CLIError) -> [DefinitionProblem] {
        var problems: [DefinitionProblem] = []
        // Templates this apply creates: journeys are checked as if they existed (at version 1).
        var pendingTemplates: [String: String] = [:]
        var pendingList: [JSONValue] = []
        for change in plan.changes {
            guard case .create(let template) = change, template.kind == .template else { continue }
            let id = "pending:" + template.identity
            pendingTemplates[template.identity] = id
            pendingList.append(["id": .string(id), "channel": template.body["channel"] ?? ""])
        }
        for change in plan.changes {
            let definition: Definition
            switch change {
            case .create(let local), .update(let local, _, _): definition = local
            case .delete: continue
            }
            let place = definition.file ?? definition.label
            switch definition.kind {
            case .template:
                var body = definition.body.objectValue ?? [:]
                body["name"] = nil
                let response = try await space.attempt(.POST, .messaging, "/templates/preview", json: .object(body))
                if !response.ok { problems += response.problems.map { DefinitionProblem(place, $0) } }
            case .audience, .computedTrait:
                let path = definition.kind == .audience ? "/audiences/validate" : "/computed-traits/validate"
                let answer = try await space.expect(
                    .POST, .audiences, path, json: ["definition": definition.body["definition"] ?? .null],
                    doing: "checking \(definition.label)")
                for problem in answer["data"]?["problems"]?.arrayValue ?? [] {
                    problems.append(DefinitionProblem(place, problem.stringValue ?? problem.compactText))
                }
            case .journey where definition.body["status"]?.stringValue != "draft":
                let candidate = PortableForm.toSpace(
                    definition.body["definition"] ?? .object([:]), audienceIds: remote.audienceIds,
                    templateIds: remote.templateIds.merging(pendingTemplates) { stored, _ in stored })
                let answer = try await space.expect(
                    .POST, .journeys, "/journeys/validate",
                    json: ["definition": candidate, "templates": .array(pendingList)],
                    doing: "checking \(definition.label)")
                // Problems name templates by id: name them as the files do.
                var names: [String: String] = [:]
                for (identity, id) in remote.templateIds.merging(
                    pendingTemplates, uniquingKeysWith: { stored, _ in stored })
                {
                    names[id] = identity
                }
                for problem in answer["data"]?["problems"]?.arrayValue ?? [] {
                    var text = problem.stringValue ?? problem.compactText
                    for (id, identity) in names where text.contains(id) {
                        text = text.replacingOccurrences(of: id, with: identity)
                    }
                    problems.append(DefinitionProblem(place, text))
                }
            case .sendGrid, .twilio:
                let resolved = ProviderSecrets.resolved(definition, root: root, environment: environment)
                problems += resolved.problems
                guard resolved.problems.isEmpty else { continue }
                let response = try await space.attempt(
                    .POST, .messaging, "/messaging/providers/\(definition.kind.rawValue)/verify", json: resolved.body)
                if !response.ok { problems += response.problems.map { DefinitionProblem(place, $0) } }
            default:
                continue
            }
        }
        return problems
    }

    mutating func apply(_ plan: Plan) async throws(CLIError) {
        for change in plan.changes {
            switch change {
            case .create(let definition):
                try await create(definition)
                report("+ \(definition.label)")
            case .update(let local, let existing, _):
                try await update(local, existing: existing)
                report("~ \(local.label)")
            case .delete(let definition):
                try await delete(definition)
                report("- \(definition.label)")
            }
        }
    }

    private func id(_ definition: Definition) -> String {
        EngageAPI.segment(remote.ids[definition.kind]?[definition.identity] ?? "")
    }

    private mutating func create(_ definition: Definition) async throws(CLIError) {
        let body = definition.body
        let doing = "creating \(definition.label)"
        switch definition.kind {
        case .sendGrid, .twilio, .sendPolicy:
            try await putSetting(definition)
        case .subscriptionGroup:
            try await space.expect(.POST, .subscriptions, "/subscription-groups", json: body, doing: doing)
        case .template:
            let created = try await space.expect(.POST, .messaging, "/templates", json: body, doing: doing)
            if let id = created["data"]?["id"]?.stringValue { remote.templateIds[definition.identity] = id }
        case .audience, .computedTrait:
            let path = definition.kind == .audience ? "/audiences" : "/computed-traits"
            let created = try await space.expect(.POST, .audiences, path, json: body, doing: doing)
            if definition.kind == .audience, let id = created["data"]?["id"]?.stringValue {
                remote.audienceIds[definition.identity] = id
            }
        case .journey:
            let created = try await space.expect(
                .POST, .journeys, "/journeys",
                json: ["name": body["name"] ?? "", "definition": journeyDefinition(definition)], doing: doing)
            guard let id = created["data"]?["id"]?.stringValue else {
                throw CLIError(ExitStatus.unavailable, "\(doing): the answer has no id")
            }
            let status = body["status"]?.stringValue ?? "published"
            if status != "draft" {
                try await eventually(doing: "publishing \(definition.label)") { () async throws(CLIError) in
                    try await space.attempt(.POST, .journeys, "/journeys/\(id)/publish", json: .object([:]))
                }
            }
            if status == "paused" {
                try await space.expect(.POST, .journeys, "/journeys/\(id)/pause", doing: "pausing \(definition.label)")
            }
        case .destination:
            var members = body.objectValue ?? [:]
            members["enabled"] = body["enabled"] ?? true
            let created = try await space.expect(
                .POST, .eventsSource, "/destinations", json: .object(members), doing: doing)
            if let secret = created["data"]?["secret"]?.stringValue {
                createdSecrets[definition.identity] = secret
                report(
                    "  \(definition.label): signing secret \(secret) (shown this once; POST .../destinations/{id}/rotate-secret makes a new one)"
                )
            }
        case .messagingDestination:
            let request = messagingDestination(definition, actionIds: [:])
            try await eventually(doing: doing) { () async throws(CLIError) in
                try await space.attempt(.POST, .messaging, "/messaging-destinations", json: request)
            }
        }
    }

    private mutating func update(_ local: Definition, existing: Definition) async throws(CLIError) {
        let body = local.body
        let doing = "changing \(local.label)"
        let id = id(existing)
        switch local.kind {
        case .sendGrid, .twilio, .sendPolicy:
            try await putSetting(local)
        case .subscriptionGroup:
            try await space.expect(
                .PATCH, .subscriptions, "/subscription-groups/\(id)",
                json: ["name": body["name"] ?? "", "description": body["description"] ?? ""], doing: doing)
        case .template:
            var members: [String: JSONValue] = ["content": body["content"] ?? .object([:])]
            if body["name"] != existing.body["name"] { members["name"] = body["name"] }
            try await space.expect(.PUT, .messaging, "/templates/\(id)", json: .object(members), doing: doing)
        case .audience, .computedTrait:
            let path = local.kind == .audience ? "/audiences" : "/computed-traits"
            try await space.expect(
                .PATCH, .audiences, "\(path)/\(id)",
                json: [
                    "name": body["name"] ?? "", "description": body["description"] ?? "",
                    "definition": body["definition"] ?? .null,
                ], doing: doing)
        case .journey:
            try await updateJourney(local, existing: existing, id: id)
        case .destination:
            if body["name"] != existing.body["name"] || body["url"] != existing.body["url"]
                || body["events"] != existing.body["events"]
            {
                try await space.expect(
                    .PATCH, .eventsSource, "/destinations/\(id)",
                    json: [
                        "name": body["name"] ?? "", "url": body["url"] ?? "", "events": body["events"] ?? .array([]),
                    ],
                    doing: doing)
            }
            if body["enabled"] != existing.body["enabled"] {
                let action = body["enabled"] == false ? "pause" : "resume"
                try await space.expect(.POST, .eventsSource, "/destinations/\(id)/\(action)", doing: doing)
            }
        case .messagingDestination:
            let request = messagingDestination(local, actionIds: remote.actionIds[local.identity] ?? [:])
            try await eventually(doing: doing) { () async throws(CLIError) in
                try await space.attempt(.PUT, .messaging, "/messaging-destinations/\(id)", json: request)
            }
        }
    }

    private func updateJourney(_ local: Definition, existing: Definition, id: String) async throws(CLIError) {
        let status = local.body["status"]?.stringValue ?? "published"
        let remoteStatus = existing.body["status"]?.stringValue ?? "draft"
        let definitionChanged = local.body["definition"] != existing.body["definition"]
        if definitionChanged {
            try await space.expect(
                .PATCH, .journeys, "/journeys/\(id)", json: ["definition": journeyDefinition(local)],
                doing: "changing \(local.label)")
        }
        if status != "draft", definitionChanged || remoteStatus == "draft" {
            // Only mappings that still make sense: from a step of the current version to one of the new draft.
            let current = remote.journeys[local.identity]?.currentSteps ?? []
            let next = Set((local.body["definition"]?["steps"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            var mapping: [String: JSONValue] = [:]
            for (old, new) in local.body["stepMapping"]?.objectValue ?? [:] {
                if current.contains(old), let target = new.stringValue, next.contains(target) { mapping[old] = new }
            }
            let body: JSONValue =
                mapping.isEmpty || remoteStatus == "draft" ? .object([:]) : ["stepMapping": .object(mapping)]
            try await eventually(doing: "publishing \(local.label)") { () async throws(CLIError) in
                try await space.attempt(.POST, .journeys, "/journeys/\(id)/publish", json: body)
            }
        }
        if status == "paused", remoteStatus != "paused" {
            try await space.expect(.POST, .journeys, "/journeys/\(id)/pause", doing: "pausing \(local.label)")
        } else if status == "published", remoteStatus == "paused" {
            try await space.expect(.POST, .journeys, "/journeys/\(id)/resume", doing: "resuming \(local.label)")
        }
    }

    private func delete(_ definition: Definition) async throws(CLIError) {
        let id = id(definition)
        let doing = "deleting \(definition.label)"
        switch definition.kind {
        case .subscriptionGroup:
            try await space.expect(.DELETE, .subscriptions, "/subscription-groups/\(id)", doing: doing)
        case .template: try await space.expect(.DELETE, .messaging, "/templates/\(id)", doing: doing)
        case .audience: try await space.expect(.DELETE, .audiences, "/audiences/\(id)", doing: doing)
        case .computedTrait: try await space.expect(.DELETE, .audiences, "/computed-traits/\(id)", doing: doing)
        case .journey:
            try await space.expect(.POST, .journeys, "/journeys/\(id)/archive", doing: "archiving \(definition.label)")
        case .destination: try await space.expect(.DELETE, .eventsSource, "/destinations/\(id)", doing: doing)
        case .messagingDestination:
            try await space.expect(.DELETE, .messaging, "/messaging-destinations/\(id)", doing: doing)
        case .sendGrid, .twilio, .sendPolicy: break
        }
    }

    private func putSetting(_ definition: Definition) async throws(CLIError) {
        let path =
            switch definition.kind {
            case .sendPolicy: "/messaging/send-policy"
            default: "/messaging/providers/\(definition.kind.rawValue)"
            }
        let resolved = ProviderSecrets.resolved(definition, root: root, environment: environment)
        if let problem = resolved.problems.first { throw CLIError(ExitStatus.refusedInput, problem.description) }
        try await space.expect(.PUT, .messaging, path, json: resolved.body, doing: "setting \(definition.label)")
    }

    private func journeyDefinition(_ definition: Definition) -> JSONValue {
        PortableForm.toSpace(
            definition.body["definition"] ?? .object([:]), audienceIds: remote.audienceIds,
            templateIds: remote.templateIds)
    }

    /// A messaging destination as the API takes it: the audience by key (the API reads keys),
    /// templates by id, and each kept action with its id (its at-most-once history stays).
    private func messagingDestination(_ definition: Definition, actionIds: [String: String]) -> JSONValue {
        guard
            case .object(var body) = PortableForm.toSpace(
                definition.body, audienceIds: nil, templateIds: remote.templateIds)
        else { return definition.body }
        if case .array(let actions)? = body["actions"] {
            body["actions"] = .array(
                actions.map { action in
                    guard case .object(var members) = action, let name = members["name"]?.stringValue,
                        let id = actionIds[name]
                    else { return action }
                    members["id"] = .string(id)
                    return .object(members)
                })
        }
        return .object(body)
    }

    /// A write that names what this apply just created may be refused for a few seconds while the
    /// other services' replicas (templates, audiences) catch up: tried again on 422 for up to 30 s.
    private func eventually(doing action: String, _ attempt: () async throws(CLIError) -> EngageResponse)
        async throws(CLIError)
    {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let response = try await attempt()
            if response.ok { return }
            guard response.status == 422, ContinuousClock.now < deadline else {
                throw CLIError.refused(response, doing: action)
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}
