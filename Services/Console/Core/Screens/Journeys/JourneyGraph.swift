import Contracts
import Foundation

/// A journey drawn as SVG, on the server: the entry on top, a box per step with its type, summary,
/// counts and problems, edges labelled with their branch, and an end marker where a path ends.
/// Every text is escaped here; the page includes the result as markup.
struct JourneyGraph: Sendable {
    /// A step's counts from `GET /journeys/{id}/stats` (for the version drawn).
    struct Counts: Sendable {
        var now = 0
        var entered = 0
        var completed = 0
        var exited = 0
        var converted = 0
    }

    var draft: JourneyDraft
    /// nil: the version drawn has never run (a draft never published).
    var counts: [String: Counts]?
    var totals: (entered: Int, active: Int)?
    var problems = JourneyProblems()
    /// Steps where the looked-up profile is, with what it is doing there.
    var here: [String: String] = [:]
    var templates: [String: String] = [:]
    /// Where a box links to edit its step (nil: read-only, as for an old version).
    var editLink: (@Sendable (String) -> String)?

    static let stepWidth = 260.0
    static let lineHeight = 16.0
    static let padding = 10.0

    private struct Box {
        var lines: [(text: String, style: String)]
        var kind: String  // entry, step, end, bad-end
        var stepId: String?
        var label: String
    }

    func svg() -> String {
        var boxes: [String: Box] = [:]
        var order: [String] = []
        var edges: [JourneyGraphLayout.Edge] = []
        func add(_ id: String, _ box: Box) {
            boxes[id] = box
            order.append(id)
        }
        add("entry", entryBox())
        if let start = draft.start, draft.step(start) != nil {
            edges.append(.init(from: "entry", to: "step:\(start)", label: nil))
        }
        var ends = 0
        for step in draft.steps {
            guard let id = step["id"]?.stringValue, boxes["step:\(id)"] == nil else { continue }
            add("step:\(id)", stepBox(step, id: id))
            for slot in JourneyDraft.slots(of: step) {
                if let target = slot.target, draft.step(target) != nil {
                    edges.append(.init(from: "step:\(id)", to: "step:\(target)", label: slot.label))
                } else {
                    ends += 1
                    let missing = slot.target
                    add(
                        "end:\(ends)",
                        Box(
                            lines: [(missing.map { "No step “\($0)”" } ?? "End", "end")],
                            kind: missing == nil ? "end" : "bad-end", stepId: nil,
                            label: missing.map { "Leads to “\($0)”, which is not a step" } ?? "End of the path"))
                    edges.append(.init(from: "step:\(id)", to: "end:\(ends)", label: slot.label))
                }
            }
            for (index, branch) in (step["branches"]?.arrayValue ?? []).enumerated()
            where step["type"]?.stringValue == "random_split" && branch["holdout"] == .bool(true) {
                ends += 1
                let percent = JourneyText.number(branch["percent"]?.numberValue ?? 0)
                add(
                    "end:\(ends)",
                    Box(
                        lines: [("Holdout", "end")], kind: "end", stepId: nil,
                        label: "Holdout: receives nothing, counted"))
                edges.append(
                    .init(
                        from: "step:\(id)", to: "end:\(ends)",
                        label: "\(branch["name"]?.stringValue ?? "branch \(index + 1)") \(percent)%"))
            }
        }
        let nodes = order.map { id -> JourneyGraphLayout.Node in
            let box = boxes[id]!
            let small = box.kind == "end" || box.kind == "bad-end"
            let width = small ? max(72, Double(box.lines[0].text.count) * 7 + 24) : Self.stepWidth
            return .init(id: id, width: width, height: Double(box.lines.count) * Self.lineHeight + 2 * Self.padding)
        }
        let layout = JourneyGraphLayout.layout(nodes: nodes, edges: edges, root: "entry")
        return render(layout, boxes)
    }

    // MARK: boxes

    private func entryBox() -> Box {
        let entry = draft.definition["entry"]?.objectValue ?? [:]
        var trigger: String
        switch entry["type"]?.stringValue {
        case "event": trigger = "on event \(entry["event"]?.stringValue ?? "?")"
        case "audience": trigger = "on entering audience \(entry["audienceId"]?.stringValue ?? "?")"
        default: trigger = "no entry yet"
        }
        if entry["where"]?.arrayValue?.isEmpty == false { trigger += " (filtered)" }
        var lines: [(String, String)] = [("Entry", "title"), (trigger, "text")]
        let exits = (draft.definition["exitRules"]?.arrayValue ?? []).map { rule in
            rule["type"]?.stringValue == "left_audience" ? "leaving the audience" : rule["event"]?.stringValue ?? "?"
        }
        if !exits.isEmpty { lines.append(("exits on " + exits.joined(separator: ", "), "muted")) }
        if let totals {
            lines.append(("entered \(totals.entered) · active \(totals.active)", "count"))
        }
        for problem in problems.entry {
            lines += Self.wrap("⚠ " + problem, width: Self.stepWidth - 2 * Self.padding).map { ($0, "problem") }
        }
        var label = "Entry: \(trigger)"
        if !exits.isEmpty { label += "; exits on \(exits.joined(separator: ", "))" }
        if let totals { label += "; entered \(totals.entered), active \(totals.active)" }
        if !problems.entry.isEmpty { label += "; problems: " + problems.entry.joined(separator: "; ") }
        return Box(lines: lines, kind: problems.entry.isEmpty ? "entry" : "entry problem", stepId: nil, label: label)
    }

    private func stepBox(_ step: [String: JSONValue], id: String) -> Box {
        let type = JourneyText.typeLabel(step)
        let summary = JourneyText.summary(step, templates: templates)
        var lines: [(String, String)] = [(type, "title"), (JourneyDraft.title(step), "text")]
        if !summary.isEmpty { lines.append((summary, "muted")) }
        var label = "Step \(JourneyDraft.title(step)): \(type)"
        if !summary.isEmpty { label += ", \(summary)" }
        if let counts {
            let count = counts[id] ?? Counts()
            var first = "entered \(count.entered) · now \(count.now)"
            if step["type"]?.stringValue == "send" { first += " · converted \(count.converted)" }
            lines.append((first, "count"))
            lines.append(("completed \(count.completed) · exited \(count.exited)", "count"))
            label +=
                "; entered \(count.entered), now \(count.now), completed \(count.completed), exited \(count.exited)"
            if step["type"]?.stringValue == "send" { label += ", converted \(count.converted)" }
        }
        if let doing = here[id] {
            lines.append(("● this profile \(doing)", "here"))
            label += "; the profile looked up \(doing)"
        }
        let stepProblems = problems.byStep[id] ?? []
        for problem in stepProblems {
            lines += Self.wrap("⚠ " + problem, width: Self.stepWidth - 2 * Self.padding).map { ($0, "problem") }
        }
        if !stepProblems.isEmpty {
            label +=
                "; \(stepProblems.count) problem\(stepProblems.count == 1 ? "" : "s"): "
                + stepProblems.joined(separator: "; ")
        }
        var kind = "step"
        if !stepProblems.isEmpty { kind += " problem" }
        if here[id] != nil { kind += " here" }
        return Box(lines: lines, kind: kind, stepId: id, label: label)
    }

    // MARK: SVG

    private func render(_ layout: JourneyGraphLayout, _ boxes: [String: Box]) -> String {
        let width = Int(layout.width.rounded(.up))
        let height = Int(layout.height.rounded(.up))
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" class="journey-graph" viewBox="0 0 \(width) \(height)" \
            width="\(width)" height="\(height)" role="group" aria-label="Journey graph">
            <defs><marker id="journey-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" \
            orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7585"/></marker></defs>

            """
        for edge in layout.edges {
            let c = edge.curve
            let d =
                "M\(f(c[0].x)),\(f(c[0].y)) C\(f(c[1].x)),\(f(c[1].y)) \(f(c[2].x)),\(f(c[2].y)) \(f(c[3].x)),\(f(c[3].y))"
            let dashed = edge.isBack || boxes[edge.to]?.lines.first?.text == "Holdout"
            svg +=
                "<path d=\"\(d)\" fill=\"none\" stroke=\"#6b7585\" stroke-width=\"1.5\"\(dashed ? " stroke-dasharray=\"5 4\"" : "") marker-end=\"url(#journey-arrow)\"/>\n"
        }
        for edge in layout.edges {
            guard let label = edge.label, !label.isEmpty else { continue }
            let text = Self.fit(label, width: 150)
            let labelWidth = Double(text.count) * 6.4 + 10
            svg += """
                <g class="edge-label"><rect x="\(f(edge.labelAt.x - labelWidth / 2))" y="\(f(edge.labelAt.y - 10))" \
                width="\(f(labelWidth))" height="18" rx="9" fill="#ffffff" stroke="#d8dde5"/>\
                <text x="\(f(edge.labelAt.x))" y="\(f(edge.labelAt.y + 3))" text-anchor="middle" font-size="11" \
                fill="#1c2330">\(Self.escape(text))</text></g>

                """
        }
        for node in layout.nodes {
            guard let box = boxes[node.id] else { continue }
            svg += nodeMarkup(node, box)
        }
        return svg + "</svg>"
    }

    private func nodeMarkup(_ node: JourneyGraphLayout.PlacedNode, _ box: Box) -> String {
        let kinds = Set(box.kind.split(separator: " ").map(String.init))
        var fill = "#ffffff"
        var stroke = "#aab2bf"
        var strokeWidth = 1.5
        if kinds.contains("entry") { (fill, stroke) = ("#e8eefc", "#2458d3") }
        if kinds.contains("end") { (fill, stroke) = ("#f1f3f6", "#aab2bf") }
        if kinds.contains("bad-end") { (fill, stroke) = ("#fdecea", "#b3261e") }
        if kinds.contains("here") { (stroke, strokeWidth) = ("#17753a", 3) }
        if kinds.contains("problem") { (fill, stroke, strokeWidth) = ("#fdecea", "#b3261e", 2.5) }
        let small = kinds.contains("end") || kinds.contains("bad-end")
        let link = box.stepId.flatMap { stepId in editLink.map { $0(stepId) } }
        var group = "<g class=\"node \(Self.escape(box.kind))\""
        if let stepId = box.stepId { group += " data-step=\"\(Self.escape(stepId))\"" }
        if box.kind.hasPrefix("entry") { group += " data-step=\"entry\"" }
        // A linked box is named by its link; the others are images with that description.
        if link == nil { group += " role=\"img\" aria-label=\"\(Self.escape(box.label))\"" }
        group += ">"
        group +=
            "<title>\(Self.escape(box.label))</title><rect x=\"\(f(node.x))\" y=\"\(f(node.y))\" width=\"\(f(node.width))\" height=\"\(f(node.height))\" rx=\"\(small ? 16 : 8)\" fill=\"\(fill)\" stroke=\"\(stroke)\" stroke-width=\"\(strokeWidth)\"/>"
        for (index, line) in box.lines.enumerated() {
            let y = node.y + Self.padding + Double(index) * Self.lineHeight + 12
            var attributes = "font-size=\"12\" fill=\"#1c2330\""
            switch line.style {
            case "title": attributes = "font-size=\"12\" font-weight=\"700\" fill=\"#1c2330\""
            case "muted", "end": attributes = "font-size=\"12\" fill=\"#5b6472\""
            case "count": attributes = "font-size=\"11.5\" fill=\"#1c2330\" class=\"counts\""
            case "problem":
                attributes = "font-size=\"11.5\" font-weight=\"600\" fill=\"#b3261e\" class=\"step-problem\""
            case "here": attributes = "font-size=\"11.5\" font-weight=\"600\" fill=\"#17753a\""
            default: break
            }
            let x = small ? node.centerX : node.x + Self.padding
            let anchor = small ? " text-anchor=\"middle\"" : ""
            let text = Self.fit(line.text, width: node.width - 2 * Self.padding)
            group += "<text x=\"\(f(x))\" y=\"\(f(y))\"\(anchor) \(attributes)>\(Self.escape(text))</text>"
        }
        group += "</g>"
        if let link {
            return "<a href=\"\(Self.escape(link))\" aria-label=\"\(Self.escape(box.label))\">\(group)</a>\n"
        }
        return group + "\n"
    }

    private func f(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    /// Cut to what fits in `width` pixels at the graph's font size, with an ellipsis.
    static func fit(_ text: String, width: Double) -> String {
        let limit = max(4, Int(width / 6.6))
        guard text.count > limit else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }

    /// Words over lines that fit `width`, at most three (the last cut with an ellipsis).
    static func wrap(_ text: String, width: Double) -> [String] {
        let limit = max(4, Int(width / 6.6))
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if current.isEmpty {
                current = String(word)
            } else if current.count + 1 + word.count <= limit {
                current += " " + word
            } else {
                lines.append(current)
                current = String(word)
            }
        }
        if !current.isEmpty { lines.append(current) }
        if lines.count > 3 { lines = Array(lines.prefix(3)) + [""] }
        if lines.last == "" {
            lines.removeLast()
            lines[lines.count - 1] = fit(lines[lines.count - 1] + " …", width: width)
        }
        return lines.map { fit($0, width: width) }
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
