import Contracts
import Foundation

/// A journey definition as the journeys API holds it (JSON), with the edits the step forms make:
/// add a step at a place in the graph, replace one, remove one. It is read leniently, since a
/// draft may be anything until it is published; fields the forms do not know are kept.
struct JourneyDraft: Sendable {
    var definition: [String: JSONValue]

    init(_ json: JSONValue?) {
        definition = json?.objectValue ?? [:]
    }

    var json: JSONValue { .object(definition) }

    var steps: [[String: JSONValue]] {
        (definition["steps"]?.arrayValue ?? []).map { $0.objectValue ?? [:] }
    }

    var stepIds: [String] { steps.compactMap { $0["id"]?.stringValue } }

    var start: String? { definition["start"]?.stringValue }

    func step(_ id: String) -> [String: JSONValue]? {
        steps.first { $0["id"]?.stringValue == id }
    }

    /// What a person calls a step: its name, else its id.
    func title(_ id: String) -> String {
        step(id).map(Self.title) ?? id
    }

    static func title(_ step: [String: JSONValue]) -> String {
        if let name = step["name"]?.stringValue, !name.isEmpty { return name }
        return step["id"]?.stringValue ?? "(no id)"
    }

    // MARK: places in the graph

    /// Where a step can lead: one of its branches, or (stepId nil) the journey's start.
    struct Slot: Sendable, Equatable {
        var stepId: String?
        /// `next`, `timeoutNext`, `trueNext`, `falseNext`, `otherwiseNext` or `branches.N`.
        var key: String
        /// How the branch reads on the graph and in the forms ("timeout", "true", a branch name).
        var label: String?
        var target: String?

        /// The value a form carries for this place: "start", or the step id and key.
        var formValue: String { stepId.map { "\($0)|\(key)" } ?? "start" }
    }

    /// A step's branches in order. A random split's holdout has none (its path ends there).
    static func slots(of step: [String: JSONValue]) -> [Slot] {
        let id = step["id"]?.stringValue
        func slot(_ key: String, _ label: String?) -> Slot {
            Slot(stepId: id, key: key, label: label, target: step[key]?.stringValue)
        }
        func branches(_ label: (Int, [String: JSONValue]) -> String) -> [Slot] {
            (step["branches"]?.arrayValue ?? []).enumerated().compactMap { index, item in
                let branch = item.objectValue ?? [:]
                if branch["holdout"] == .bool(true) { return nil }
                return Slot(
                    stepId: id, key: "branches.\(index)", label: label(index, branch),
                    target: branch["next"]?.stringValue)
            }
        }
        func branchName(_ index: Int, _ branch: [String: JSONValue]) -> String {
            branch["name"]?.stringValue ?? "branch \(index + 1)"
        }
        switch step["type"]?.stringValue {
        case "wait_for_event": return branches(branchName) + [slot("timeoutNext", "timeout")]
        case "split": return [slot("trueNext", "true"), slot("falseNext", "false")]
        case "multi_split": return branches(branchName) + [slot("otherwiseNext", "otherwise")]
        case "random_split":
            return branches { index, branch in
                "\(branchName(index, branch)) \(JourneyText.number(branch["percent"]?.numberValue ?? 0))%"
            }
        case "exit": return []
        default: return [slot("next", nil)]
        }
    }

    /// Every place a new step can go: the start, then each branch of each step.
    var slots: [Slot] {
        [Slot(stepId: nil, key: "start", label: nil, target: start)] + steps.flatMap(Self.slots(of:))
    }

    func slot(formValue: String) -> Slot? {
        slots.first { $0.formValue == formValue }
    }

    /// The place a new step goes unless told otherwise: the first branch that ends the path (the
    /// end of the journey so far), else the start.
    var defaultSlot: Slot {
        let all = slots
        if start == nil || step(start ?? "") == nil { return all[0] }
        return all.dropFirst().first { $0.target == nil } ?? all[0]
    }

    // MARK: edits

    /// Points a place at a step (nil: the path ends there).
    mutating func setTarget(_ slot: Slot, to target: String?) {
        guard let stepId = slot.stepId else {
            definition["start"] = target.map(JSONValue.string) ?? .null
            return
        }
        updateStep(stepId) { step in
            Self.setSuccessor(&step, key: slot.key, to: target)
        }
    }

    static func setSuccessor(_ step: inout [String: JSONValue], key: String, to target: String?) {
        let value = target.map(JSONValue.string) ?? .null
        if key.hasPrefix("branches.") {
            guard let index = Int(key.dropFirst("branches.".count)),
                var branches = step["branches"]?.arrayValue, branches.indices.contains(index)
            else { return }
            var branch = branches[index].objectValue ?? [:]
            branch["next"] = value
            branches[index] = .object(branch)
            step["branches"] = .array(branches)
        } else {
            step[key] = value
        }
    }

    /// Adds a step; placed at `slot`, that place now leads to it.
    mutating func insert(_ step: [String: JSONValue], at slot: Slot?) {
        var list = definition["steps"]?.arrayValue ?? []
        list.append(.object(step))
        definition["steps"] = .array(list)
        if let slot, let id = step["id"]?.stringValue { setTarget(slot, to: id) }
    }

    mutating func replaceStep(_ id: String, with step: [String: JSONValue]) {
        updateStep(id) { $0 = step }
    }

    /// Removes a step. What led to it now leads where it led (when it had one way on), else ends.
    mutating func removeStep(_ id: String) {
        guard let removed = step(id) else { return }
        let onward = Self.slots(of: removed)
        let heir = onward.count == 1 ? onward[0].target : nil
        let wasStart = start == id
        definition["steps"] = .array(
            (definition["steps"]?.arrayValue ?? []).filter { $0.objectValue?["id"]?.stringValue != id })
        for slot in slots where slot.target == id {
            setTarget(slot, to: heir == id ? nil : heir)
        }
        // A journey needs a start: the first step left takes it rather than none.
        if wasStart, start == nil, let first = stepIds.first { definition["start"] = .string(first) }
    }

    private mutating func updateStep(_ id: String, _ change: (inout [String: JSONValue]) -> Void) {
        guard var list = definition["steps"]?.arrayValue else { return }
        for index in list.indices where list[index].objectValue?["id"]?.stringValue == id {
            var step = list[index].objectValue ?? [:]
            change(&step)
            list[index] = .object(step)
        }
        definition["steps"] = .array(list)
    }

    /// An id no step has yet, from a base ("wait", "wait_2", ...).
    func uniqueId(_ base: String) -> String {
        var slug = String(
            base.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
                .reduce(into: "") { text, character in
                    if character == "_" && text.hasSuffix("_") { return }
                    text.append(character)
                }
                .trimmingCharacters(in: CharacterSet(charactersIn: "_"))
                .prefix(40))
        if slug.isEmpty { slug = "step" }
        let taken = Set(stepIds)
        guard taken.contains(slug) else { return slug }
        var counter = 2
        while taken.contains("\(slug)_\(counter)") { counter += 1 }
        return "\(slug)_\(counter)"
    }
}
