import Contracts
import EngageClient

/// A space's definitions in their portable form, with what apply needs to change them: each
/// definition's id, and the ids behind the keys and names that files use.
public struct RemoteSpace: Sendable {
    public var definitions: [Definition] = []
    /// Kind -> identity -> the space's id.
    var ids: [DefinitionKind: [String: String]] = [:]
    /// Audience key -> id (journeys refer to audiences by id).
    var audienceIds: [String: String] = [:]
    /// `CHANNEL/lowercased name` -> template id.
    var templateIds: [String: String] = [:]
    /// Journey identity -> its status and the step ids of its current version (for step mapping).
    var journeys: [String: (status: String, currentSteps: Set<String>)] = [:]
    /// Messaging destination identity -> action name -> action id (kept on PUT).
    var actionIds: [String: [String: String]] = [:]
    /// Definitions the space holds twice under one name: apply cannot tell which one a file means.
    public var duplicates: [DefinitionProblem] = []
    public var warnings: [String] = []

    public static func read(_ space: SpaceClient) async throws(CLIError) -> RemoteSpace {
        var remote = RemoteSpace()
        try await remote.readSettings(space)
        let groups = try await space.list(.subscriptions, "/subscription-groups", doing: "listing subscription groups")
        for group in groups {
            remote.add(
                .subscriptionGroup, id: group["id"],
                body: ["name": group["name"] ?? "", "description": group["description"] ?? ""])
        }
        var templateNames: [String: (name: String, channel: String)] = [:]
        for template in try await space.list(.messaging, "/templates", doing: "listing templates") {
            guard let id = template["id"]?.stringValue, let name = template["name"]?.stringValue,
                let channel = template["channel"]?.stringValue
            else { continue }
            templateNames[id] = (name, channel)
            remote.templateIds[channel + "/" + name.lowercased()] = id
            remote.add(
                .template, id: template["id"],
                body: [
                    "name": .string(name), "channel": .string(channel), "purpose": template["purpose"] ?? "marketing",
                    "content": template["content"] ?? .object([:]),
                ])
        }
        var audienceKeys: [String: String] = [:]
        for (kind, path) in [(DefinitionKind.audience, "/audiences"), (.computedTrait, "/computed-traits")] {
            for item in try await space.list(.audiences, path, doing: "listing \(kind.rawValue)s") {
                guard let id = item["id"]?.stringValue, let key = item["key"]?.stringValue else { continue }
                if kind == .audience {
                    audienceKeys[id] = key
                    remote.audienceIds[key] = id
                }
                remote.add(
                    kind, id: item["id"],
                    body: [
                        "key": .string(key), "name": item["name"] ?? .string(key),
                        "description": item["description"] ?? "",
                        "definition": item["definition"] ?? .null,
                    ])
            }
        }
        var warnings: [String] = []
        for journey in try await space.list(.journeys, "/journeys", doing: "listing journeys") {
            guard let id = journey["id"]?.stringValue, let name = journey["name"]?.stringValue,
                let status = journey["status"]?.stringValue, status != "archived"
            else { continue }
            var definition = journey["draft"] ?? .object([:])
            var steps: Set<String> = []
            if status != "draft" {
                let versions = try await space.expect(
                    .GET, .journeys, "/journeys/\(EngageAPI.segment(id))/versions", doing: "reading journey \(name)")
                let list = versions["data"]?.arrayValue ?? []
                if let latest = list.max(by: { ($0["version"]?.numberValue ?? 0) < ($1["version"]?.numberValue ?? 0) }),
                    let published = latest["definition"]
                {
                    definition = published
                    steps = Set((published["steps"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
                }
            }
            let portable = PortableForm.fromSpace(
                definition, audienceKeys: audienceKeys, templates: templateNames, place: "journey \(name)",
                warnings: &warnings)
            remote.journeys[name] = (status, steps)
            remote.add(
                .journey, id: journey["id"],
                body: ["name": .string(name), "status": .string(status), "definition": portable])
        }
        for destination in try await space.list(.eventsSource, "/destinations", doing: "listing destinations") {
            remote.add(
                .destination, id: destination["id"],
                body: [
                    "name": destination["name"] ?? "", "url": destination["url"] ?? "",
                    "events": destination["events"] ?? .array([]),
                    // Only an operator's pause is a setting; one after failed deliveries is an incident.
                    "enabled": .bool(
                        destination["status"]?.stringValue == "active"
                            || destination["pausedReason"]?.stringValue != "paused by operator"),
                ])
        }
        for destination in try await space.list(
            .messaging, "/messaging-destinations", doing: "listing messaging destinations")
        {
            guard case .object(var body) = destination, let name = body["name"]?.stringValue else { continue }
            var actionIds: [String: String] = [:]
            if case .array(let actions)? = body["actions"] {
                body["actions"] = .array(
                    actions.map { action in
                        guard case .object(var members) = action else { return action }
                        if let id = members["id"]?.stringValue, let actionName = members["name"]?.stringValue {
                            actionIds[actionName] = id
                        }
                        members["id"] = nil
                        return .object(members)
                    })
            }
            for field in [
                "id", "connectedAt", "createdAt", "updatedAt", "audienceKey", "audienceName",
                "queuedForExistingMembers",
            ] {
                body[field] = nil
            }
            let portable = PortableForm.fromSpace(
                .object(body), audienceKeys: audienceKeys, templates: templateNames,
                place: "messaging destination \(name)", warnings: &warnings)
            remote.actionIds[name] = actionIds
            remote.add(.messagingDestination, id: destination["id"], body: portable)
        }
        remote.warnings += warnings
        return remote
    }

    private mutating func readSettings(_ space: SpaceClient) async throws(CLIError) {
        let policy = try await space.expect(
            .GET, .messaging, "/messaging/send-policy", doing: "reading the send policy")
        if case .object(let body)? = policy["data"] {
            definitions.append(Definition(kind: .sendPolicy, body: .object(body)))
        }
        for (kind, path) in [(DefinitionKind.sendGrid, "sendgrid"), (.twilio, "twilio")] {
            let response = try await space.attempt(.GET, .messaging, "/messaging/providers/\(path)")
            if response.status == 404 { continue }
            guard response.ok, let view = (try? JSONValue.parse(response.body))?["data"],
                case .object(var settings)? = view["settings"]
            else { throw CLIError.refused(response, doing: "reading the \(path) settings") }
            let configured: [String: String] = [
                "apiKey": "apiKeyConfigured", "apiKeySecret": "apiKeySecretConfigured",
                "authToken": "authTokenConfigured",
            ]
            for field in ProviderSecrets.fields(of: kind) where view[configured[field]!] == true {
                settings[field] = ProviderSecrets.placeholder(kind, field)
            }
            definitions.append(Definition(kind: kind, body: .object(settings)))
        }
    }

    private mutating func add(_ kind: DefinitionKind, id: JSONValue?, body: [String: JSONValue]) {
        add(kind, id: id, body: .object(body))
    }

    private mutating func add(_ kind: DefinitionKind, id: JSONValue?, body: JSONValue) {
        let definition = Definition(kind: kind, body: body)
        if ids[kind]?[definition.identity] != nil {
            duplicates.append(
                DefinitionProblem(
                    definition.label,
                    "the space has more than one \(kind.rawValue) with this \(kind.identityField): rename one so that files can name each"
                ))
            return
        }
        ids[kind, default: [:]][definition.identity] = id?.stringValue ?? ""
        definitions.append(definition)
    }
}
