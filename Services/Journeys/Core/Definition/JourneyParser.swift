import Contracts
import Foundation

/// Reads a journey definition from JSON and checks it, collecting every problem rather than
/// stopping at the first, so a publish that fails lists all there is to fix:
/// `steps[2].next: is required (null ends the path)`, `graph: step "b" is never reached`...
public enum JourneyParser {
    public static let maxSteps = 200
    public static let maxWaitSeconds = 366.0 * 86_400

    /// What a publish checks besides the definition itself: the templates a send names.
    public struct TemplateInfo: Sendable {
        public var channel: SubscriptionChannel
        public var currentVersion: Int
        public init(channel: SubscriptionChannel, currentVersion: Int) {
            self.channel = channel
            self.currentVersion = currentVersion
        }
    }

    /// The definition, or every problem found. `templates` answers for a template id (nil: unknown).
    public static func parse(
        _ json: JSONValue, templates: (String) -> TemplateInfo? = { _ in nil }, checkTemplates: Bool = false
    )
        -> Result<JourneyDefinition, Problems>
    {
        var problems = Problems()
        guard case .object(let object) = json else {
            problems.add("definition", "must be an object with entry, start and steps")
            return .failure(problems)
        }
        let entry = problems.attempt { () throws(DefinitionError) in try self.entry(object["entry"]) }
        let reentry =
            problems.attempt { () throws(DefinitionError) in try self.reentry(object["reentry"], entry: entry) }
            ?? .once
        var exitRules: [JourneyDefinition.ExitRule] = []
        if let rules = object["exitRules"], rules != .null {
            if case .array(let items) = rules {
                for (index, item) in items.enumerated() {
                    if let rule = problems.attempt({ () throws(DefinitionError) in
                        try exitRule(item, path: "exitRules[\(index)]", entry: entry)
                    }) {
                        exitRules.append(rule)
                    }
                }
            } else {
                problems.add("exitRules", "must be an array")
            }
        }
        let start = problems.attempt { () throws(DefinitionError) in
            try DefinitionReader.string(object, "start", "definition")
        }
        var steps: [Step] = []
        if case .array(let items)? = object["steps"], !items.isEmpty {
            if items.count > maxSteps { problems.add("steps", "a journey has at most \(maxSteps) steps") }
            for (index, item) in items.prefix(maxSteps).enumerated() {
                if let step = self.step(item, path: "steps[\(index)]", problems: &problems) { steps.append(step) }
            }
        } else {
            problems.add("steps", "must be a non-empty array of steps")
        }
        guard let entry, let start, problems.isEmpty else { return .failure(problems) }
        let definition = JourneyDefinition(
            entry: entry, reentry: reentry, exitRules: exitRules, start: start, steps: steps)
        checkGraph(definition, problems: &problems)
        if checkTemplates { checkSends(definition, templates: templates, problems: &problems) }
        return problems.isEmpty ? .success(definition) : .failure(problems)
    }

    // MARK: entry, re-entry, exit

    static func entry(_ json: JSONValue?) throws(DefinitionError) -> JourneyDefinition.Entry {
        guard case .object(let object)? = json else {
            throw DefinitionError(path: "entry", reason: "is required: {\"type\": \"audience\" | \"event\", ...}")
        }
        switch try DefinitionReader.string(object, "type", "entry") {
        case "audience":
            return .audience(
                id: try DefinitionReader.string(object, "audienceId", "entry"),
                includeExistingMembers: try bool(object, "includeExistingMembers", "entry") ?? false)
        case "event":
            return .event(try eventMatch(object, path: "entry"))
        case let other:
            throw DefinitionError(
                path: "entry.type", reason: "unknown entry type \"\(other)\" (expected audience or event)")
        }
    }

    static func reentry(_ json: JSONValue?, entry: JourneyDefinition.Entry?) throws(DefinitionError)
        -> JourneyDefinition.Reentry
    {
        guard let json, json != .null else { return .once }
        guard case .object(let object) = json else {
            throw DefinitionError(path: "reentry", reason: "must be an object with a mode")
        }
        switch try DefinitionReader.string(object, "mode", "reentry") {
        case "once": return .once
        case "after_exit":
            let gap = try seconds(object, "minimumGapSeconds", "reentry", required: false) ?? 0
            return .afterExit(minimumGapSeconds: gap)
        case "every_event":
            if case .audience? = entry {
                throw DefinitionError(
                    path: "reentry.mode",
                    reason: "every_event needs an event entry (an audience is entered once at a time)")
            }
            return .everyEvent
        case let other:
            throw DefinitionError(
                path: "reentry.mode", reason: "unknown mode \"\(other)\" (expected once, after_exit or every_event)")
        }
    }

    static func exitRule(_ json: JSONValue, path: String, entry: JourneyDefinition.Entry?) throws(DefinitionError)
        -> JourneyDefinition.ExitRule
    {
        guard case .object(let object) = json else {
            throw DefinitionError(path: path, reason: "must be an object with a type")
        }
        switch try DefinitionReader.string(object, "type", path) {
        case "event": return .event(try eventMatch(object, path: path))
        case "left_audience":
            if case .event? = entry {
                throw DefinitionError(path: "\(path).type", reason: "left_audience needs an audience entry")
            }
            return .leftAudience
        case let other:
            throw DefinitionError(
                path: "\(path).type", reason: "unknown exit rule \"\(other)\" (expected event or left_audience)")
        }
    }

    // MARK: steps

    static func step(_ json: JSONValue, path: String, problems: inout Problems) -> Step? {
        guard case .object(let object) = json else {
            problems.add(path, "must be an object with id and type")
            return nil
        }
        return problems.attempt { () throws(DefinitionError) -> Step in
            let id = try DefinitionReader.string(object, "id", path)
            guard id.utf8.count <= 64 else {
                throw DefinitionError(path: "\(path).id", reason: "must be at most 64 bytes")
            }
            let name = try DefinitionReader.optionalString(object, "name", path) ?? id
            let type = try DefinitionReader.string(object, "type", path)
            let kind: Step.Kind
            switch type {
            case "wait":
                kind = .wait(
                    seconds: try seconds(object, "seconds", path, required: true) ?? 0,
                    next: try next(object, "next", path))
            case "wait_until":
                kind = .waitUntil(try waitUntil(object, path), next: try next(object, "next", path))
            case "wait_for_event":
                guard case .array(let items)? = object["branches"], !items.isEmpty, items.count <= 10 else {
                    throw DefinitionError(
                        path: "\(path).branches", reason: "must be an array of 1 to 10 awaited events")
                }
                var branches: [EventBranch] = []
                for (index, item) in items.enumerated() {
                    let itemPath = "\(path).branches[\(index)]"
                    guard case .object(let branch) = item else {
                        throw DefinitionError(path: itemPath, reason: "must be an object")
                    }
                    branches.append(
                        EventBranch(
                            name: try DefinitionReader.optionalString(branch, "name", itemPath) ?? "branch_\(index)",
                            match: try eventMatch(branch, path: itemPath), next: try next(branch, "next", itemPath)))
                }
                kind = .waitForEvent(
                    branches: branches,
                    timeoutSeconds: try seconds(object, "timeoutSeconds", path, required: true) ?? 0,
                    timeoutNext: try next(object, "timeoutNext", path))
            case "split":
                guard let condition = object["condition"] else {
                    throw DefinitionError(path: "\(path).condition", reason: "is required")
                }
                kind = .split(
                    try self.condition(condition, path: "\(path).condition", depth: 0),
                    trueNext: try next(object, "trueNext", path), falseNext: try next(object, "falseNext", path))
            case "multi_split":
                let mode = try DefinitionReader.optionalString(object, "mode", path) ?? "first"
                guard mode == "first" || mode == "all" else {
                    throw DefinitionError(path: "\(path).mode", reason: "must be first or all")
                }
                guard case .array(let items)? = object["branches"], !items.isEmpty, items.count <= 10 else {
                    throw DefinitionError(path: "\(path).branches", reason: "must be an array of 1 to 10 branches")
                }
                var branches: [ConditionBranch] = []
                for (index, item) in items.enumerated() {
                    let itemPath = "\(path).branches[\(index)]"
                    guard case .object(let branch) = item, let condition = branch["condition"] else {
                        throw DefinitionError(path: itemPath, reason: "must be an object with name, condition and next")
                    }
                    branches.append(
                        ConditionBranch(
                            name: try DefinitionReader.string(branch, "name", itemPath),
                            condition: try self.condition(condition, path: "\(itemPath).condition", depth: 0),
                            next: try next(branch, "next", itemPath)))
                }
                kind = .multiSplit(
                    all: mode == "all", branches: branches, otherwiseNext: try next(object, "otherwiseNext", path))
            case "random_split":
                guard case .array(let items)? = object["branches"] else {
                    throw DefinitionError(path: "\(path).branches", reason: "is required")
                }
                var branches: [RandomBranch] = []
                for (index, item) in items.enumerated() {
                    let itemPath = "\(path).branches[\(index)]"
                    guard case .object(let branch) = item else {
                        throw DefinitionError(path: itemPath, reason: "must be an object")
                    }
                    guard case .number(let percent)? = branch["percent"], percent > 0, percent <= 100 else {
                        throw DefinitionError(
                            path: "\(itemPath).percent", reason: "must be a number above 0 and at most 100")
                    }
                    let holdout = try bool(branch, "holdout", itemPath) ?? false
                    branches.append(
                        RandomBranch(
                            name: try DefinitionReader.string(branch, "name", itemPath), percent: percent,
                            holdout: holdout,
                            next: holdout ? nil : try next(branch, "next", itemPath)))
                }
                kind = .randomSplit(branches)
            case "send":
                kind = .send(try send(object, path), next: try next(object, "next", path))
            case "destination":
                let topic = try DefinitionReader.string(object, "topic", path)
                guard Self.isTopicName(topic) else {
                    throw DefinitionError(
                        path: "\(path).topic",
                        reason: "must be a Kafka topic name (letters, digits, . _ -, at most 249) outside engage.*")
                }
                kind = .destination(.topic(topic), next: try next(object, "next", path))
            case "set_traits":
                guard case .object(let traits)? = object["traits"], !traits.isEmpty else {
                    throw DefinitionError(path: "\(path).traits", reason: "must be a non-empty object of trait values")
                }
                kind = .setTraits(traits, next: try next(object, "next", path))
            case "exit":
                kind = .exit
            default:
                throw DefinitionError(
                    path: "\(path).type",
                    reason:
                        "unknown step type \"\(type)\" (expected wait, wait_until, wait_for_event, split, multi_split, random_split, send, destination, set_traits or exit)"
                )
            }
            return Step(id: id, name: name, kind: kind)
        }
    }

    static func send(_ object: [String: JSONValue], _ path: String) throws(DefinitionError) -> SendAction {
        let channelText = try DefinitionReader.string(object, "channel", path)
        guard let channel = SubscriptionChannel(loose: channelText) else {
            throw DefinitionError(path: "\(path).channel", reason: "must be EMAIL, SMS or WHATSAPP")
        }
        var version: Int?
        if let value = object["templateVersion"], value != .null {
            guard case .number(let number) = value, number >= 1, number.rounded() == number else {
                throw DefinitionError(path: "\(path).templateVersion", reason: "must be a whole number from 1")
            }
            version = Int(number)
        }
        let purposeText = try DefinitionReader.optionalString(object, "purpose", path) ?? "marketing"
        guard let purpose = MessagePurpose(rawValue: purposeText.lowercased()) else {
            throw DefinitionError(path: "\(path).purpose", reason: "must be marketing or transactional")
        }
        let group = try DefinitionReader.optionalString(object, "group", path)
        if group != nil && channel != .email {
            throw DefinitionError(path: "\(path).group", reason: "groups exist on EMAIL only")
        }
        var goal: ConversionGoal?
        if let goalJSON = object["goal"], goalJSON != .null {
            guard case .object(let goalObject) = goalJSON else {
                throw DefinitionError(path: "\(path).goal", reason: "must be an object with event and windowSeconds")
            }
            goal = ConversionGoal(
                match: try eventMatch(goalObject, path: "\(path).goal"),
                windowSeconds: try seconds(goalObject, "windowSeconds", "\(path).goal", required: true) ?? 0)
        }
        return SendAction(
            channel: channel, templateId: try DefinitionReader.string(object, "templateId", path),
            templateVersion: version,
            purpose: purpose, group: group, goal: goal)
    }

    static let weekdayNames = ["sun": 1, "mon": 2, "tue": 3, "wed": 4, "thu": 5, "fri": 6, "sat": 7]

    static func waitUntil(_ object: [String: JSONValue], _ path: String) throws(DefinitionError) -> WaitUntil {
        if let trait = try DefinitionReader.optionalString(object, "trait", path) {
            return .traitDate(trait: trait, offsetSeconds: try number(object, "offsetSeconds", path) ?? 0)
        }
        let time = try DefinitionReader.string(object, "time", path)
        guard let minutes = WallClockTime.minutes(time) else {
            throw DefinitionError(path: "\(path).time", reason: "must be HH:MM (00:00-23:59)")
        }
        var weekdays: Set<Int> = []
        if let value = object["weekdays"], value != .null {
            guard case .array(let items) = value else {
                throw DefinitionError(path: "\(path).weekdays", reason: "must be an array like [\"mon\", \"fri\"]")
            }
            for item in items {
                guard let day = item.stringValue.flatMap({ weekdayNames[$0.lowercased().prefix(3).description] }) else {
                    throw DefinitionError(
                        path: "\(path).weekdays",
                        reason: "\(item.json) is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
                }
                weekdays.insert(day)
            }
        }
        let zone = try DefinitionReader.optionalString(object, "defaultTimeZone", path) ?? "UTC"
        guard TimeZone(identifier: zone) != nil else {
            throw DefinitionError(path: "\(path).defaultTimeZone", reason: "\"\(zone)\" is not an IANA time zone")
        }
        return .timeOfDay(
            minutes: minutes, weekdays: weekdays,
            timeZoneTrait: try DefinitionReader.optionalString(object, "timeZoneTrait", path) ?? "timezone",
            defaultTimeZone: zone)
    }

    static func condition(_ json: JSONValue, path: String, depth: Int) throws(DefinitionError) -> SplitCondition {
        guard depth < 8 else { throw DefinitionError(path: path, reason: "conditions nest at most 8 deep") }
        guard case .object(let object) = json else {
            throw DefinitionError(path: path, reason: "must be an object with a type")
        }
        let type = try DefinitionReader.string(object, "type", path)
        func children() throws(DefinitionError) -> [SplitCondition] {
            guard case .array(let items)? = object["conditions"], !items.isEmpty else {
                throw DefinitionError(
                    path: "\(path).conditions", reason: "\(type) needs a non-empty array of conditions")
            }
            var result: [SplitCondition] = []
            for (index, item) in items.enumerated() {
                result.append(try condition(item, path: "\(path).conditions[\(index)]", depth: depth + 1))
            }
            return result
        }
        switch type {
        case "and": return .all(try children())
        case "or": return .any(try children())
        case "not":
            guard let child = object["condition"] else {
                throw DefinitionError(path: "\(path).condition", reason: "not needs one condition")
            }
            return .not(try condition(child, path: "\(path).condition", depth: depth + 1))
        case "trait":
            return .trait(
                try DefinitionReader.string(object, "trait", path), try DefinitionReader.comparison(object, path))
        case "audience": return .audience(id: try DefinitionReader.string(object, "audienceId", path))
        case "performed": return .performed(try eventMatch(object, path: path))
        default:
            throw DefinitionError(
                path: "\(path).type",
                reason: "unknown condition \"\(type)\" (expected trait, audience, performed, and, or, not)")
        }
    }

    // MARK: graph

    static func checkGraph(_ definition: JourneyDefinition, problems: inout Problems) {
        var seen: Set<String> = []
        for step in definition.steps where !seen.insert(step.id).inserted {
            problems.add("steps", "step id \"\(step.id)\" is used more than once")
        }
        guard definition.stepsById[definition.start] != nil else {
            problems.add("start", "names no step (\"\(definition.start)\")")
            return
        }
        for step in definition.steps {
            var branchNames: Set<String> = []
            for (branch, next) in step.successors {
                if !branchNames.insert(branch).inserted {
                    problems.add("steps.\(step.id)", "branch name \"\(branch)\" is used more than once")
                }
                if let next, definition.stepsById[next] == nil {
                    problems.add("steps.\(step.id)", "branch \(branch) leads to \"\(next)\", which is not a step")
                }
            }
            switch step.kind {
            case .randomSplit(let branches):
                if branches.count < 2 || branches.count > 5 {
                    problems.add("steps.\(step.id).branches", "a random split has 2 to 5 branches")
                }
                let total = branches.reduce(0) { $0 + $1.percent }
                if abs(total - 100) > 0.000_1 {
                    problems.add(
                        "steps.\(step.id).branches",
                        "percentages add up to \(total.formatted(.number.precision(.fractionLength(0...2)))), not 100")
                }
            case .waitForEvent(_, let timeout, _) where timeout <= 0:
                problems.add("steps.\(step.id).timeoutSeconds", "must be above 0")
            case .send(let action, _):
                if let goal = action.goal, goal.windowSeconds <= 0 {
                    problems.add("steps.\(step.id).goal.windowSeconds", "must be above 0")
                }
            default: break
            }
        }
        // Cycles and reachability: depth-first from the start.
        var state: [String: Int] = [:]  // 1: on the current path, 2: done
        var cycleReported = false
        func visit(_ id: String) {
            guard let step = definition.stepsById[id] else { return }
            state[id] = 1
            for (_, next) in step.successors {
                guard let next, definition.stepsById[next] != nil else { continue }
                if state[next] == 1 {
                    if !cycleReported {
                        problems.add("graph", "steps \"\(id)\" -> \"\(next)\" close a cycle; every path must end")
                    }
                    cycleReported = true
                } else if state[next] == nil {
                    visit(next)
                }
            }
            state[id] = 2
        }
        visit(definition.start)
        for step in definition.steps where state[step.id] == nil {
            problems.add("graph", "step \"\(step.id)\" is never reached from the start")
        }
    }

    static func checkSends(
        _ definition: JourneyDefinition, templates: (String) -> TemplateInfo?, problems: inout Problems
    ) {
        for step in definition.steps {
            guard case .send(let action, _) = step.kind else { continue }
            guard let template = templates(action.templateId) else {
                problems.add(
                    "steps.\(step.id).templateId", "template \"\(action.templateId)\" does not exist in this space")
                continue
            }
            if template.channel != action.channel {
                problems.add(
                    "steps.\(step.id).templateId",
                    "template \"\(action.templateId)\" is a \(template.channel.rawValue) template, the step sends \(action.channel.rawValue)"
                )
            }
            if let version = action.templateVersion, version > template.currentVersion {
                problems.add(
                    "steps.\(step.id).templateVersion",
                    "template \"\(action.templateId)\" has versions 1 to \(template.currentVersion)")
            }
        }
    }

    // MARK: helpers

    static func eventMatch(_ object: [String: JSONValue], path: String) throws(DefinitionError) -> EventMatch {
        EventMatch(
            event: try DefinitionReader.string(object, "event", path),
            filters: try DefinitionReader.filters(object["where"], "\(path).where"))
    }

    /// A successor: the key must be present; null ends the path there.
    static func next(_ object: [String: JSONValue], _ key: String, _ path: String) throws(DefinitionError) -> String? {
        guard let value = object[key] else {
            throw DefinitionError(path: "\(path).\(key)", reason: "is required (null ends the path)")
        }
        if value == .null { return nil }
        return try DefinitionReader.string(object, key, path)
    }

    static func seconds(_ object: [String: JSONValue], _ key: String, _ path: String, required: Bool)
        throws(DefinitionError) -> Double?
    {
        guard let value = object[key], value != .null else {
            if required { throw DefinitionError(path: "\(path).\(key)", reason: "is required") }
            return nil
        }
        guard case .number(let seconds) = value, seconds >= 0, seconds <= maxWaitSeconds else {
            throw DefinitionError(
                path: "\(path).\(key)",
                reason: "must be a number of seconds from 0 to \(Int(maxWaitSeconds)) (366 days)")
        }
        return seconds
    }

    static func number(_ object: [String: JSONValue], _ key: String, _ path: String) throws(DefinitionError) -> Double?
    {
        guard let value = object[key], value != .null else { return nil }
        guard case .number(let number) = value else {
            throw DefinitionError(path: "\(path).\(key)", reason: "must be a number")
        }
        return number
    }

    static func bool(_ object: [String: JSONValue], _ key: String, _ path: String) throws(DefinitionError) -> Bool? {
        guard let value = object[key], value != .null else { return nil }
        guard case .bool(let flag) = value else {
            throw DefinitionError(path: "\(path).\(key)", reason: "must be true or false")
        }
        return flag
    }

    static func isTopicName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 249, !name.hasPrefix("engage."), name != ".", name != ".." else {
            return false
        }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }
}

/// Every problem of a definition, each as `path: reason`.
public struct Problems: Error, Sendable, Hashable {
    public private(set) var items: [String] = []
    public var isEmpty: Bool { items.isEmpty }

    mutating func add(_ path: String, _ reason: String) { items.append("\(path): \(reason)") }

    mutating func attempt<T>(_ body: () throws(DefinitionError) -> T) -> T? {
        do { return try body() } catch {
            items.append(error.description)
            return nil
        }
    }
}
