import Contracts
import Foundation

/// Every problem with a directory that can be found before anything changes: each file's shape,
/// the references between files, and what the space cannot do (change a template's purpose,
/// unpublish a journey). The services check the rest when apply writes.
enum Validation {
    static let channels: Set<String> = ["EMAIL", "SMS", "WHATSAPP"]

    static func problems(_ local: [Definition], remote: RemoteSpace) -> [DefinitionProblem] {
        var problems: [DefinitionProblem] = []
        let normalized = local.map(Normalization.normalized)
        let audienceKeys = Set(normalized.filter { $0.kind == .audience }.map(\.identity))
        let templates = Set(normalized.filter { $0.kind == .template }.map(\.identity))
        let remoteByKey = Dictionary(remote.definitions.map { (Plan.key($0), $0) }, uniquingKeysWith: { a, _ in a })

        for definition in normalized {
            let place = definition.file ?? definition.label
            func require(_ field: String, _ test: (JSONValue) -> Bool, _ what: String) {
                guard let value = definition.body[field], test(value) else {
                    problems.append(DefinitionProblem(place, "\(field) is required (\(what))"))
                    return
                }
            }
            let isString: (JSONValue) -> Bool = {
                if case .string(let text) = $0 { !text.trimmed.isEmpty } else { false }
            }
            let isObject: (JSONValue) -> Bool = { if case .object = $0 { true } else { false } }
            switch definition.kind {
            case .template:
                require("name", isString, "a name")
                require("channel", { channels.contains($0.stringValue ?? "") }, "EMAIL, SMS or WHATSAPP")
                require("content", isObject, "an object")
                if let purpose = definition.body["purpose"]?.stringValue,
                    !["marketing", "transactional"].contains(purpose)
                {
                    problems.append(DefinitionProblem(place, "purpose must be marketing or transactional"))
                }
                if let existing = remoteByKey[Plan.key(definition)],
                    existing.body["purpose"] != definition.body["purpose"]
                {
                    problems.append(
                        DefinitionProblem(
                            place,
                            "purpose cannot change from \(existing.body["purpose"].cell) (a template keeps its purpose): give the template a new name"
                        ))
                }
            case .audience, .computedTrait:
                require(
                    "key",
                    { ($0.stringValue ?? "").range(of: "^[a-z0-9_]{1,100}$", options: .regularExpression) != nil },
                    "lower-case letters, digits and underscores")
                require("definition", isObject, "an object")
                for key in Plan.audienceConditionKeys(definition.body["definition"] ?? .null)
                where !audienceKeys.contains(key) {
                    problems.append(
                        DefinitionProblem(place, "names audience \(key), which no file in audiences/ defines"))
                }
            case .subscriptionGroup:
                require("name", isString, "a name")
            case .journey:
                require("name", isString, "a name")
                require("definition", isObject, "an object")
                let status = definition.body["status"]?.stringValue ?? ""
                if !["draft", "published", "paused"].contains(status) {
                    problems.append(DefinitionProblem(place, "status must be draft, published or paused"))
                } else if status == "draft", let current = remote.journeys[definition.identity],
                    current.status != "draft"
                {
                    problems.append(
                        DefinitionProblem(
                            place, "status draft: the journey is \(current.status), and a journey cannot be unpublished"
                        ))
                }
                if let mapping = definition.body["stepMapping"], !(isObject(mapping) || mapping == .null) {
                    problems.append(
                        DefinitionProblem(place, "stepMapping must be an object (old step id -> new step id)"))
                }
                problems += journeyProblems(definition.body["definition"] ?? .null, place: place)
                problems += referenceProblems(definition, place: place, audiences: audienceKeys, templates: templates)
            case .destination:
                require("name", isString, "a name")
                require("url", isString, "an http(s) URL")
            case .messagingDestination:
                require("name", isString, "a name")
                require("audienceId", isString, "an audience key")
                require(
                    "actions", { if case .array(let items) = $0 { !items.isEmpty } else { false } }, "1 to 10 actions")
                var actionNames: Set<String> = []
                for (index, action) in (definition.body["actions"]?.arrayValue ?? []).enumerated() {
                    if PortableForm.channel(ofActionType: action["type"]?.stringValue) == nil {
                        problems.append(
                            DefinitionProblem(
                                place, "actions[\(index)].type must be send_sms, send_whatsapp or send_email"))
                    }
                    if action["templateId"] != nil {
                        problems.append(
                            DefinitionProblem(
                                place, "actions[\(index)]: name the template with \"template\": NAME, not templateId"))
                    }
                    if let name = action["name"]?.stringValue, !actionNames.insert(name).inserted {
                        problems.append(
                            DefinitionProblem(
                                place,
                                "actions[\(index)]: two actions are named \(name); names keep each action's history"))
                    }
                }
                problems += referenceProblems(definition, place: place, audiences: audienceKeys, templates: templates)
            case .sendPolicy, .sendGrid, .twilio:
                break
            }
        }
        return problems
    }

    /// Audience keys and template names a journey or messaging destination uses must be defined in the directory.
    static func referenceProblems(
        _ definition: Definition, place: String, audiences: Set<String>, templates: Set<String>
    ) -> [DefinitionProblem] {
        var problems: [DefinitionProblem] = []
        let references = PortableForm.references(in: definition.body)
        for key in Set(references.audiences).sorted() where !audiences.contains(key) {
            problems.append(DefinitionProblem(place, "names audience \(key), which no file in audiences/ defines"))
        }
        for (name, channel) in references.templates {
            guard let channel else {
                problems.append(DefinitionProblem(place, "template \(name): the step or action names no channel"))
                continue
            }
            if !templates.contains(channel + "/" + name.lowercased()) {
                problems.append(
                    DefinitionProblem(place, "names \(channel) template \(name), which no file in templates/ defines"))
            }
        }
        return problems
    }

    /// The structure of a journey's steps: a start, unique step ids, and every successor a step.
    static func journeyProblems(_ definition: JSONValue, place: String) -> [DefinitionProblem] {
        guard case .object = definition else { return [] }
        var problems: [DefinitionProblem] = []
        guard case .array(let steps)? = definition["steps"], !steps.isEmpty else {
            return [DefinitionProblem(place, "definition.steps must list 1 to 200 steps")]
        }
        var ids: Set<String> = []
        for (index, step) in steps.enumerated() {
            guard let id = step["id"]?.stringValue, !id.isEmpty else {
                problems.append(DefinitionProblem(place, "definition.steps[\(index)].id is required"))
                continue
            }
            if !ids.insert(id).inserted {
                problems.append(DefinitionProblem(place, "definition.steps: two steps have id \(id)"))
            }
            if step["templateId"] != nil {
                problems.append(
                    DefinitionProblem(place, "step \(id): name the template with \"template\": NAME, not templateId"))
            }
        }
        if let start = definition["start"]?.stringValue {
            if !ids.contains(start) { problems.append(DefinitionProblem(place, "definition.start: no step \(start)")) }
        } else {
            problems.append(DefinitionProblem(place, "definition.start is required (the first step's id)"))
        }
        func successors(_ value: JSONValue, step: String) {
            switch value {
            case .array(let items):
                for item in items { successors(item, step: step) }
            case .object(let members):
                for (key, child) in members {
                    if key == "next" || key.hasSuffix("Next"), case .string(let target) = child, !ids.contains(target) {
                        problems.append(DefinitionProblem(place, "step \(step): \(key) names no step (\(target))"))
                    } else {
                        successors(child, step: step)
                    }
                }
            default: break
            }
        }
        for step in steps { successors(step, step: step["id"]?.stringValue ?? "?") }
        return problems
    }
}
