import Contracts
import Foundation
import Testing

@testable import ConsoleCore

@Suite struct JourneyGraphLayoutTests {
    typealias Layout = JourneyGraphLayout

    static func nodes(_ ids: String...) -> [Layout.Node] {
        ids.map { Layout.Node(id: $0, width: 100, height: 40) }
    }

    static func edge(_ from: String, _ to: String, _ label: String? = nil) -> Layout.Edge {
        Layout.Edge(from: from, to: to, label: label)
    }

    static func overlaps(_ a: Layout.PlacedNode, _ b: Layout.PlacedNode) -> Bool {
        a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
    }

    @Test func aChainGoesStraightDownFromTheRoot() throws {
        let layout = Layout.layout(
            nodes: Self.nodes("entry", "wait", "check"),
            edges: [Self.edge("entry", "wait"), Self.edge("wait", "check")],
            root: "entry")
        let entry = try #require(layout.node("entry"))
        let wait = try #require(layout.node("wait"))
        let check = try #require(layout.node("check"))
        #expect([entry.layer, wait.layer, check.layer] == [Int](0...2))
        #expect(entry.y < wait.y && wait.y < check.y)
        #expect(entry.centerX == wait.centerX && wait.centerX == check.centerX)
        #expect(layout.edges.allSatisfy { !$0.isBack })
        // Edges leave the bottom of one box and enter the top of the next.
        let edge = try #require(layout.edges.first { $0.from == "wait" })
        #expect(edge.curve.first == Layout.Point(x: wait.centerX, y: wait.bottom))
        #expect(edge.curve.last == Layout.Point(x: check.centerX, y: check.y))
    }

    @Test func branchesSitSideBySideInBranchOrderUnderTheirStep() throws {
        // The abandoned cart: the awaited event ends the path, the timeout sends the promo.
        let layout = Layout.layout(
            nodes: Self.nodes("entry", "check", "end:purchased", "promo", "end:promo"),
            edges: [
                Self.edge("entry", "check"), Self.edge("check", "end:purchased", "purchased"),
                Self.edge("check", "promo", "timeout"), Self.edge("promo", "end:promo"),
            ], root: "entry")
        let check = try #require(layout.node("check"))
        let purchased = try #require(layout.node("end:purchased"))
        let promo = try #require(layout.node("promo"))
        #expect(purchased.layer == 2 && promo.layer == 2)
        #expect(purchased.y == promo.y)
        #expect(purchased.x + purchased.width <= promo.x)
        // Centred under the step they branch from.
        #expect(abs((purchased.centerX + promo.centerX) / 2 - check.centerX) < 0.001)
        #expect(try #require(layout.node("end:promo")).layer == 3)
        let labels = layout.edges.filter { $0.from == "check" }.map(\.label)
        #expect(labels == ["purchased", "timeout"])
        // Each branch leaves from its own point along the bottom of the step.
        let starts = layout.edges.filter { $0.from == "check" }.map { $0.curve[0].x }
        #expect(starts[0] < starts[1])
        for (index, a) in layout.nodes.enumerated() {
            for b in layout.nodes[(index + 1)...] { #expect(!Self.overlaps(a, b), "\(a.id) overlaps \(b.id)") }
        }
        #expect(layout.nodes.allSatisfy { $0.x >= 0 && $0.x + $0.width <= layout.width })
        #expect(layout.nodes.allSatisfy { $0.y + $0.height <= layout.height })
    }

    @Test func aStepReachedTwiceSitsBelowTheLongerPath() throws {
        let layout = Layout.layout(
            nodes: Self.nodes("entry", "split", "wait", "send"),
            edges: [
                Self.edge("entry", "split"), Self.edge("split", "wait", "true"), Self.edge("split", "send", "false"),
                Self.edge("wait", "send"),
            ], root: "entry")
        #expect(try #require(layout.node("send")).layer == 3)
        #expect(layout.edges.allSatisfy { !$0.isBack })
    }

    @Test func aCycleEndsAndIsDrawnBackUp() throws {
        let layout = Layout.layout(
            nodes: Self.nodes("entry", "a", "b"),
            edges: [Self.edge("entry", "a"), Self.edge("a", "b"), Self.edge("b", "a", "again")], root: "entry")
        #expect(try #require(layout.node("a")).layer == 1)
        #expect(try #require(layout.node("b")).layer == 2)
        let back = try #require(layout.edges.first { $0.from == "b" })
        #expect(back.isBack)
        // Around the right-hand side, inside the drawing.
        #expect(back.curve[1].x > max(layout.node("a")!.x + 100, layout.node("b")!.x + 100))
        #expect(back.curve[1].x <= layout.width)
    }

    @Test func stepsNotReachedFromTheStartGoBelowTheRest() throws {
        let layout = Layout.layout(
            nodes: Self.nodes("entry", "a", "orphan", "b"),
            edges: [Self.edge("entry", "a"), Self.edge("orphan", "b"), Self.edge("a", "b")], root: "entry")
        let reachedDepth = max(layout.node("a")!.layer, layout.node("b")!.layer)
        let orphan = try #require(layout.node("orphan"))
        #expect(orphan.layer > reachedDepth)
        #expect(try #require(layout.edges.first { $0.from == "orphan" }).isBack)
    }

    @Test func anEmptyOrRootlessGraphStillLaysOut() {
        let empty = Layout.layout(nodes: [], edges: [], root: "entry")
        #expect(empty.nodes.isEmpty && empty.width > 0 && empty.height > 0)
        let rootless = Layout.layout(nodes: Self.nodes("x", "y"), edges: [Self.edge("x", "missing")], root: "entry")
        #expect(rootless.nodes.map(\.id).sorted() == ["x", "y"])
        #expect(rootless.edges.isEmpty)
    }
}

/// The SVG drawn from a definition: counts and problems land on their step's box, text is escaped.
@Suite struct JourneyGraphTests {
    static let cart: JSONValue = [
        "entry": ["type": "event", "event": "Product Added"],
        "start": "wait",
        "steps": [
            ["id": "wait", "type": "wait", "seconds": 2, "next": "check"],
            [
                "id": "check", "type": "wait_for_event", "timeoutSeconds": 3, "timeoutNext": "promo",
                "branches": [["name": "purchased", "event": "Order Completed", "next": nil]],
            ],
            [
                "id": "promo", "name": "Promo <SMS>", "type": "send", "channel": "SMS", "templateId": "tpl_1",
                "next": nil,
            ],
        ],
    ]

    @Test func countsAndProblemsAreDrawnOnTheirStep() {
        let draft = JourneyDraft(Self.cart)
        var graph = JourneyGraph(draft: draft, counts: ["promo": .init(now: 0, entered: 1, completed: 1, exited: 1)])
        graph.problems = JourneyProblems(
            ["steps.check.timeoutSeconds: must be above 0", "steps[0].next: is required (null ends the path)"],
            draft: draft)
        let svg = graph.svg()
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains("Promo &lt;SMS&gt;") && !svg.contains("Promo <SMS>"))
        let promo = svg.components(separatedBy: "data-step=\"promo\"")[1].components(separatedBy: "</g>")[0]
        #expect(promo.contains("entered 1 · now 0"))
        let check = svg.components(separatedBy: "data-step=\"check\"")[1].components(separatedBy: "</g>")[0]
        #expect(check.contains("timeoutSeconds: must be above 0"))
        #expect(graph.problems.byStep["wait"] == ["next: is required (null ends the path)"])
        #expect(svg.contains(">timeout<") && svg.contains(">purchased<"))
    }
}
