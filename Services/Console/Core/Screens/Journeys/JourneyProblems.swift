import Contracts
import Foundation

/// The journeys API's problems (`steps[2].next: is required`, `steps.promo.templateId: ...`,
/// `graph: step "b" is never reached from the start`), sorted onto what they are about: a step
/// (shown on its box and its form), the entry settings, or the journey as a whole.
struct JourneyProblems: Sendable {
    /// Step id -> what is wrong there, each without the step's own path.
    var byStep: [String: [String]] = [:]
    var entry: [String] = []
    var general: [String] = []
    /// Every problem as one line that says where it is, for the page's summary.
    var lines: [String] = []

    var isEmpty: Bool { lines.isEmpty }

    init() {}

    init(_ problems: [String], draft: JourneyDraft) {
        let ids = draft.stepIds
        let steps = draft.steps
        for problem in problems {
            let (path, reason) = Self.split(problem)
            if let (stepId, field) = Self.step(path: path, reason: reason, ids: ids, steps: steps) {
                let text = field.isEmpty ? reason : "\(field): \(reason)"
                byStep[stepId, default: []].append(text)
                lines.append("Step “\(draft.title(stepId))”: \(text)")
            } else if ["entry", "reentry", "exitRules", "start", "definition.start"].contains(where: {
                path.hasPrefix($0)
            }) {
                entry.append(problem)
                lines.append("Entry and exit: \(problem)")
            } else {
                general.append(problem)
                lines.append(problem)
            }
        }
    }

    static func split(_ problem: String) -> (path: String, reason: String) {
        guard let range = problem.range(of: ": ") else { return ("", problem) }
        return (String(problem[..<range.lowerBound]), String(problem[range.upperBound...]))
    }

    /// The step a problem is about and the field within it ("" for the step as a whole).
    static func step(path: String, reason: String, ids: [String], steps: [[String: JSONValue]]) -> (String, String)? {
        // While reading: `steps[2].field`, by position.
        if path.hasPrefix("steps["), let close = path.firstIndex(of: "]"),
            let index = Int(path[path.index(path.startIndex, offsetBy: 6)..<close]), steps.indices.contains(index),
            let id = steps[index]["id"]?.stringValue
        {
            return (id, field(String(path[path.index(after: close)...])))
        }
        // While checking the graph: `steps.<id>.field`, by id (the longest id that fits, since ids may hold dots).
        if path.hasPrefix("steps.") {
            let rest = path.dropFirst("steps.".count)
            if let id = ids.filter({ rest == $0 || rest.hasPrefix($0 + ".") }).max(by: { $0.count < $1.count }) {
                return (id, field(String(rest.dropFirst(id.count))))
            }
        }
        // `steps: step id "x" is used more than once`, `graph: step "x" is never reached`,
        // `graph: steps "a" -> "b" close a cycle`: the first quoted id.
        if path == "steps" || path == "graph", let id = quoted(reason), ids.contains(id) {
            return (id, "")
        }
        return nil
    }

    private static func field(_ rest: String) -> String {
        rest.hasPrefix(".") ? String(rest.dropFirst()) : rest
    }

    private static func quoted(_ text: String) -> String? {
        guard let open = text.firstIndex(of: "\""),
            let close = text[text.index(after: open)...].firstIndex(of: "\"")
        else { return nil }
        return String(text[text.index(after: open)..<close])
    }
}
