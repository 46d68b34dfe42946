import Contracts
import Foundation

/// Every problem with a directory that can be found before anything changes: each file's shape,
/// the references between files, and what the space cannot do (change a template's purpose,
/// unpublish a journey). The services' own dry-run checks follow (Applier.dryRunProblems).
enum Validation {
    static let channels: Set<String> = ["EMAIL", "SMS", "WHATSAPP"]

    static func problems(_ local: [Definition], remote: RemoteSpace) -> [DefinitionProblem] {
        let normalized = local.map(Normalization.normalized)
        let context = Context(
            audiences: Set(normalized.filter { $0.kind == .audience }.map(\.identity)),
            computedTraits: Set(normalized.filter { $0.kind == .computedTrait }.map(\.identity)),
            templates: Set(normalized.filter { $0.kind == .template }.map(\.identity)),
            groups: Set(normalized.filter { $0.kind == .subscriptionGroup }.map { $0.identity.lowercased() }),
            remote: remote)
        var problems: [DefinitionProblem] = []
        for definition in normalized {
            var checker = Checker(definition: definition, context: context)
            checker.check()
            problems += checker.problems
        }
        problems += audienceCycles(normalized.filter { $0.kind == .audience })
        return problems
    }

    struct Context {
        var audiences: Set<String>
        var computedTraits: Set<String>
        var templates: Set<String>
        /// Lower-cased: group names are unique case-insensitively.
        var groups: Set<String>
        var remote: RemoteSpace

        func remoteDefinition(_ definition: Definition) -> Definition? {
            remote.definitions.first { Plan.key($0) == Plan.key(definition) }
        }
    }

    /// The checks of one file.
    struct Checker {
        let definition: Definition
        let context: Context
        var problems: [DefinitionProblem] = []

        var place: String { definition.file ?? definition.label }
        var body: JSONValue { definition.body }

        mutating func problem(_ message: String) { problems.append(DefinitionProblem(place, message)) }

        /// A member that must be there and pass `test`: "x is required" when absent, "x must be ..." otherwise.
        mutating func require(_ field: String, _ what: String, _ test: (JSONValue) -> Bool) {
            guard let value = body[field], value != .null else { return problem("\(field) is required (\(what))") }
            if !test(value) { problem("\(field) must be \(what)") }
        }

        /// An optional member that, when there, must pass `test`.
        mutating func optional(_ field: String, _ what: String, _ test: (JSONValue) -> Bool) {
            if let value = body[field], value != .null, !test(value) { problem("\(field) must be \(what)") }
        }

        mutating func check() {
            let unknown = Set(body.objectValue?.keys.map { $0 } ?? []).subtracting(definition.kind.fields)
            for field in unknown.sorted() {
                problem(
                    "unknown field \(field) (a \(definition.kind.rawValue) has \(definition.kind.fields.sorted().joined(separator: ", ")))"
                )
            }
            switch definition.kind {
            case .template: checkTemplate()
            case .audience, .computedTrait: checkAudience()
            case .subscriptionGroup:
                require("name", "1 to 100 letters, digits, spaces, _ or - (not email, sms or whatsapp)") {
                    guard let name = $0.stringValue?.trimmed else { return false }
                    return name.range(of: "^[A-Za-z0-9 _-]{1,100}$", options: .regularExpression) != nil
                        && !["email", "sms", "whatsapp"].contains(name.lowercased())
                }
                optional("description", "a string", isString)
            case .journey: checkJourney()
            case .destination:
                require("name", "a name of 1 to 200 characters") {
                    ($0.stringValue?.trimmed.count ?? 0).isBetween(1, 200)
                }
                require("url", "an absolute http(s) URL without credentials") { value in
                    guard let text = value.stringValue, let url = URL(string: text),
                        let scheme = url.scheme?.lowercased()
                    else { return false }
                    return ["http", "https"].contains(scheme) && url.host != nil && url.user == nil
                        && text.count <= 2_048
                }
                optional("events", "a list of event names, each at most 200 characters, `*` only at the end") { value in
                    guard case .array(let items) = value, items.count <= 200 else { return false }
                    return items.allSatisfy { item in
                        guard let name = item.stringValue, (1...200).contains(name.count) else { return false }
                        return !name.dropLast().contains("*")
                    }
                }
                optional("enabled", "true or false", isBool)
            case .messagingDestination: checkMessagingDestination()
            case .sendPolicy: checkSendPolicy()
            case .sendGrid, .twilio:
                for field in ProviderSecrets.fields(of: definition.kind) {
                    guard let value = body[field] else { continue }
                    if case .string = value {
                        problem(
                            "\(field): a secret is never written in a file; use {\"env\": NAME} or {\"file\": PATH}")
                    } else if value["env"]?.stringValue == nil, value["file"]?.stringValue == nil {
                        problem("\(field) must be {\"env\": NAME} or {\"file\": PATH}")
                    }
                }
            }
        }

        mutating func checkTemplate() {
            require("name", "a name of 1 to 200 characters") { ($0.stringValue?.trimmed.count ?? 0).isBetween(1, 200) }
            require("channel", "EMAIL, SMS or WHATSAPP") { channels.contains($0.stringValue ?? "") }
            require("content", "an object", isObject)
            optional("purpose", "marketing or transactional") {
                ["marketing", "transactional"].contains($0.stringValue ?? "")
            }
            if let existing = context.remoteDefinition(definition), existing.body["purpose"] != body["purpose"] {
                problem(
                    "purpose cannot change from \(existing.body["purpose"].cell) (a template keeps its purpose): give the template a new name"
                )
            }
        }

        mutating func checkAudience() {
            require("key", "lower-case letters, digits and underscores, 1 to 100 of them") {
                ($0.stringValue ?? "").range(of: "^[a-z0-9_]{1,100}$", options: .regularExpression) != nil
            }
            if let key = body["key"]?.stringValue, ["preview", "validate"].contains(key) {
                problem("key \(key) is reserved (it names a route); choose another")
            }
            optional("name", "a name of 1 to 255 bytes") { ($0.stringValue?.trimmed.utf8.count ?? 0).isBetween(1, 255) }
            optional("description", "a string", isString)
            require("definition", "an object", isObject)
            let definitionValue = body["definition"] ?? .null
            for key in Set(Plan.audienceConditionKeys(definitionValue)).sorted() where !context.audiences.contains(key)
            {
                problem("names audience \(key), which no file in audiences/ defines")
            }
            for key in Set(Plan.computedTraitKeys(definitionValue)).sorted() where !context.computedTraits.contains(key)
            {
                problem("names computed trait \(key), which no file in computed-traits/ defines")
            }
        }

        mutating func checkJourney() {
            require("name", "a name of 1 to 200 bytes") { ($0.stringValue?.trimmed.utf8.count ?? 0).isBetween(1, 200) }
            require("definition", "an object", isObject)
            let status = body["status"]?.stringValue ?? ""
            if !["draft", "published", "paused"].contains(status) {
                problem("status must be draft, published or paused")
            } else if status == "draft", let current = context.remote.journeys[definition.identity],
                current.status != "draft"
            {
                problem("status draft: the journey is \(current.status), and a journey cannot be unpublished")
            }
            problems += Validation.journeyProblems(body["definition"] ?? .null, place: place)
            problems += Validation.referenceProblems(definition, place: place, context: context)
            checkStepMapping()
        }

        /// A mapping is used when the journey is published again: then every entry must lead from a
        /// step of the current version to a step of the new definition.
        mutating func checkStepMapping() {
            guard let mapping = body["stepMapping"], mapping != .null else { return }
            guard case .object(let entries) = mapping else {
                return problem("stepMapping must be an object (old step id -> new step id)")
            }
            guard let current = context.remote.journeys[definition.identity],
                let existing = context.remoteDefinition(definition),
                existing.body["definition"] != body["definition"]
            else { return }
            let next = Set((body["definition"]?["steps"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            for (old, new) in entries.sorted(by: { $0.key < $1.key }) {
                if !current.currentSteps.contains(old) {
                    problem("stepMapping: \(old) is not a step of the published version")
                }
                if !next.contains(new.stringValue ?? "") {
                    problem("stepMapping: \(old) -> \(new.cell): no step \(new.cell) in the definition")
                }
            }
        }

        mutating func checkMessagingDestination() {
            require("name", "a name of 1 to 500 bytes") { ($0.stringValue?.trimmed.utf8.count ?? 0).isBetween(1, 500) }
            require("audienceId", "an audience key", isString)
            optional("enabled", "true or false", isBool)
            optional("sendToExistingMembers", "true or false", isBool)
            require("actions", "a list of 1 to 10 actions") { ($0.arrayValue?.count ?? 0).isBetween(1, 10) }
            var names: [String: Int] = [:]
            for (index, action) in (body["actions"]?.arrayValue ?? []).enumerated() {
                let at = "actions[\(index)]"
                if PortableForm.channel(ofActionType: action["type"]?.stringValue) == nil {
                    problem("\(at).type must be send_sms, send_whatsapp or send_email")
                }
                if let trigger = action["trigger"]?.stringValue,
                    !["audience_entered", "audience_exited"].contains(trigger)
                {
                    problem("\(at).trigger must be audience_entered or audience_exited")
                }
                if let purpose = action["purpose"]?.stringValue, !["marketing", "transactional"].contains(purpose) {
                    problem("\(at).purpose must be marketing or transactional")
                }
                if action["templateId"] != nil {
                    problem("\(at): name the template with \"template\": NAME, not templateId")
                }
                if action["id"] != nil {
                    problem("\(at): leave out id (an action is known by its name; apply keeps its id)")
                }
                if let name = action["name"]?.stringValue {
                    if let other = names[name] {
                        problem(
                            "\(at): actions[\(other)] has the same name \(name); give each action a name of its own")
                    }
                    names[name] = index
                }
            }
            problems += Validation.referenceProblems(definition, place: place, context: context)
        }

        mutating func checkSendPolicy() {
            optional("frequencyCap", "null or {\"messages\": 1 to 10000, \"windowSeconds\": 1 to 7776000}") { cap in
                guard case .object(let members) = cap, Set(members.keys).isSubset(of: ["messages", "windowSeconds"]),
                    let messages = JSONValue.exactInteger(members["messages"]?.numberValue ?? .nan),
                    let window = JSONValue.exactInteger(members["windowSeconds"]?.numberValue ?? .nan)
                else { return false }
                return (1...10_000).contains(messages) && (1...7_776_000).contains(window)
            }
            guard case .object(let quiet)? = body["quietHours"] else {
                return optional("quietHours", "null or {\"start\": \"HH:MM\", \"end\": \"HH:MM\", ...}") { _ in false }
            }
            let time = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
            for field in ["start", "end"]
            where quiet[field]?.stringValue?.range(of: time, options: .regularExpression) == nil {
                problem("quietHours.\(field) must be HH:MM (00:00 to 23:59)")
            }
            if quiet["start"] != nil, quiet["start"] == quiet["end"] {
                problem("quietHours: start and end must differ")
            }
            if let zone = quiet["defaultTimeZone"]?.stringValue, TimeZone(identifier: zone) == nil {
                problem("quietHours.defaultTimeZone: \(zone) is not an IANA time zone (Europe/Paris)")
            }
            for field in Set(quiet.keys).subtracting(["start", "end", "timeZoneTrait", "defaultTimeZone"]).sorted() {
                problem("quietHours: unknown field \(field)")
            }
        }
    }

    static func isString(_ value: JSONValue) -> Bool { if case .string = value { true } else { false } }
    static func isBool(_ value: JSONValue) -> Bool { if case .bool = value { true } else { false } }
    static func isObject(_ value: JSONValue) -> Bool { if case .object = value { true } else { false } }

    /// The audience keys, template names and subscription groups a journey or messaging
    /// destination uses must be defined in the directory.
    static func referenceProblems(_ definition: Definition, place: String, context: Context) -> [DefinitionProblem] {
        var problems: [DefinitionProblem] = []
        let references = PortableForm.references(in: definition.body)
        for key in Set(references.audiences).sorted() where !context.audiences.contains(key) {
            problems.append(DefinitionProblem(place, "names audience \(key), which no file in audiences/ defines"))
        }
        for (name, channel) in references.templates {
            guard let channel else {
                problems.append(DefinitionProblem(place, "template \(name): the step or action names no channel"))
                continue
            }
            if !context.templates.contains(channel + "/" + name.lowercased()) {
                problems.append(
                    DefinitionProblem(place, "names \(channel) template \(name), which no file in templates/ defines"))
            }
        }
        for group in Set(references.groups).sorted() where !context.groups.contains(group.lowercased()) {
            problems.append(
                DefinitionProblem(
                    place, "names subscription group \(group), which no file in subscription-groups/ defines"))
        }
        return problems
    }

    /// Audiences that name each other in a circle can never be evaluated.
    static func audienceCycles(_ audiences: [Definition]) -> [DefinitionProblem] {
        var edges: [String: [String]] = [:]
        var files: [String: String] = [:]
        for audience in audiences {
            edges[audience.identity] = Plan.audienceConditionKeys(audience.body["definition"] ?? .null)
            files[audience.identity] = audience.file ?? audience.label
        }
        var problems: [DefinitionProblem] = []
        var reported: Set<String> = []
        func visit(_ key: String, path: [String]) {
            if let start = path.firstIndex(of: key) {
                let cycle = Array(path[start...]) + [key]
                let members = Set(cycle)
                if reported.isDisjoint(with: members) {
                    reported.formUnion(members)
                    problems.append(
                        DefinitionProblem(
                            files[key] ?? key,
                            "audiences name each other in a circle: \(cycle.joined(separator: " -> "))"))
                }
                return
            }
            for next in edges[key] ?? [] where edges[next] != nil { visit(next, path: path + [key]) }
        }
        for key in edges.keys.sorted() { visit(key, path: []) }
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

extension Int {
    func isBetween(_ low: Int, _ high: Int) -> Bool { (low...high).contains(self) }
}
