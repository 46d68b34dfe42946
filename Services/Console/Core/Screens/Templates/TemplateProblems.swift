import EngageClient
import Foundation

/// What the messaging API found wrong with a template, arranged for the page: every problem in the
/// list at the top (with its field's label), each also beside its field, and those with a position
/// for the editor to mark their line.
struct TemplateProblemList {
    var summary: [String] = []
    var byField: [String: [String]] = [:]
    /// `{field, line, column, reason}` of merge-tag errors, for the page script.
    var positions: [[String: Any]] = []

    init() {}

    /// From a refusal: 422 problems with fields, or a plain message (400, 409 for a taken name).
    init(_ answer: EngageResponse, channel: TemplateChannel) {
        let problems = (answer.json as? [String: Any])?["problems"] as? [[String: Any]] ?? []
        guard !problems.isEmpty else {
            summary = answer.problems
            if answer.status == 409 { byField["name"] = answer.problems }
            return
        }
        for problem in problems {
            add(
                field: problem["field"] as? String ?? "", line: problem["line"] as? Int,
                column: problem["column"] as? Int, reason: problem["reason"] as? String ?? "", channel: channel)
        }
    }

    /// Problems the form itself found before asking (a content-variables box that is not key=value).
    init(formProblems: [String: [String]], channel: TemplateChannel) {
        for (field, reasons) in formProblems.sorted(by: { $0.key < $1.key }) {
            for reason in reasons { add(field: field, line: nil, column: nil, reason: reason, channel: channel) }
        }
    }

    var isEmpty: Bool { summary.isEmpty }

    /// The form field a problem belongs to: `mediaUrls[2]` → mediaUrls, `contentVariables.1` →
    /// contentVariables, `body (with contentSid ...)` → body.
    static func formField(_ field: String) -> String {
        String(field.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
    }

    static func describe(line: Int?, column: Int?, reason: String) -> String {
        guard let line else { return reason }
        return "line \(line)\(column.map { ", column \($0)" } ?? ""): \(reason)"
    }

    mutating func add(field: String, line: Int?, column: Int?, reason: String, channel: TemplateChannel) {
        let name = Self.formField(field)
        let text = Self.describe(line: line, column: column, reason: reason)
        if let known = channel.fields.first(where: { $0.name == name }) {
            byField[name, default: []].append(text)
            summary.append("\(known.label): \(text)")
        } else {
            summary.append(field.isEmpty ? text : "\(field): \(text)")
        }
        if let line {
            var position: [String: Any] = ["field": name, "line": line, "reason": reason, "text": text]
            if let column { position["column"] = column }
            positions.append(position)
        }
    }

    /// The positions as JSON for the page script (read from a hidden textarea).
    var positionsJSON: String {
        (try? JSONSerialization.data(withJSONObject: positions, options: [.sortedKeys]))
            .flatMap { String(data: $0, encoding: .utf8) } ?? "[]"
    }
}
