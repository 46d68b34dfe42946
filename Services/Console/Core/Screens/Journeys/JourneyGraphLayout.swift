/// A simple layered layout for a journey's step graph: the root (the entry) on top, each node one
/// layer below the deepest node leading to it, so every forward edge points down; branches of a
/// node sit side by side in branch order, centred under the node they come from.
///
/// Drafts may be broken: edges that close a cycle are drawn back up (never followed when
/// layering), and nodes the root does not reach get layers of their own below the rest.
struct JourneyGraphLayout: Sendable {
    struct Node: Sendable {
        var id: String
        var width: Double
        var height: Double
    }

    struct Edge: Sendable {
        var from: String
        var to: String
        var label: String?
    }

    struct Point: Sendable, Equatable {
        var x: Double
        var y: Double
    }

    struct PlacedNode: Sendable {
        var id: String
        var layer: Int
        var x: Double
        var y: Double
        var width: Double
        var height: Double
        var centerX: Double { x + width / 2 }
        var bottom: Double { y + height }
    }

    struct PlacedEdge: Sendable {
        var from: String
        var to: String
        var label: String?
        /// A cubic Bézier: start, two control points, end.
        var curve: [Point]
        var labelAt: Point
        /// The edge points up (it closes a cycle, or leaves an unreached node for a reached one).
        var isBack: Bool
    }

    var nodes: [PlacedNode]
    var edges: [PlacedEdge]
    var width: Double
    var height: Double

    func node(_ id: String) -> PlacedNode? { nodes.first { $0.id == id } }

    static let margin = 16.0
    static let columnGap = 28.0
    static let layerGap = 64.0

    static func layout(nodes: [Node], edges: [Edge], root: String) -> JourneyGraphLayout {
        let byId = Dictionary(nodes.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var outgoing: [String: [Int]] = [:]
        for (index, edge) in edges.enumerated() where byId[edge.from] != nil && byId[edge.to] != nil {
            outgoing[edge.from, default: []].append(index)
        }

        // Depth-first from the root, then from every node it did not reach (in the given order):
        // discovery order settles left-to-right order, and edges into a node still on the stack
        // are back edges, left out of the layering.
        var state: [String: Int] = [:]  // 1 on the stack, 2 finished
        var discovery: [String: Int] = [:]
        var postorder: [String] = []
        var back = Set<Int>()
        var component: [String: Int] = [:]
        func visit(_ id: String, _ group: Int) {
            var stack: [(id: String, next: Int)] = [(id, 0)]
            state[id] = 1
            discovery[id] = discovery.count
            component[id] = group
            while let top = stack.last {
                let edgeIndices = outgoing[top.id] ?? []
                if top.next < edgeIndices.count {
                    stack[stack.count - 1].next += 1
                    let edgeIndex = edgeIndices[top.next]
                    let target = edges[edgeIndex].to
                    switch state[target] {
                    case 1: back.insert(edgeIndex)
                    case 2: break
                    default:
                        state[target] = 1
                        discovery[target] = discovery.count
                        component[target] = group
                        stack.append((target, 0))
                    }
                } else {
                    state[top.id] = 2
                    postorder.append(top.id)
                    stack.removeLast()
                }
            }
        }
        var roots: [String] = []
        if byId[root] != nil {
            roots.append(root)
            visit(root, 0)
        }
        for node in nodes where state[node.id] == nil {
            roots.append(node.id)
            visit(node.id, roots.count - 1)
        }

        // Longest path over forward edges, in topological order (reverse postorder). An edge into
        // another component (an unreached step leading into the reached graph) does not pull its
        // target down: it is drawn back up instead.
        var layer: [String: Int] = [:]
        var parents: [String: [String]] = [:]
        for id in postorder.reversed() {
            let base = layer[id] ?? 0
            layer[id] = base
            for edgeIndex in outgoing[id] ?? [] where !back.contains(edgeIndex) {
                let target = edges[edgeIndex].to
                guard component[target] == component[id] else { continue }
                layer[target] = max(layer[target] ?? 0, base + 1)
                parents[target, default: []].append(id)
            }
        }
        // Each later component starts below everything before it.
        var offset = 0
        var shifted: [String: Int] = [:]
        for group in roots.indices {
            let members = nodes.filter { component[$0.id] == group }
            for member in members { shifted[member.id] = (layer[member.id] ?? 0) + offset }
            offset = (members.map { shifted[$0.id] ?? 0 }.max() ?? offset) + 1
        }
        layer = shifted

        // Rows, ordered by where their parents are (then by discovery), each centred under them.
        let layerCount = (layer.values.max() ?? -1) + 1
        var rows: [[String]] = Array(repeating: [], count: layerCount)
        for node in nodes.sorted(by: { (discovery[$0.id] ?? 0) < (discovery[$1.id] ?? 0) }) {
            rows[layer[node.id] ?? 0].append(node.id)
        }
        var placed: [String: PlacedNode] = [:]
        var y = margin
        for (index, row) in rows.enumerated() {
            func desired(_ id: String) -> Double? {
                let centres = (parents[id] ?? []).compactMap { placed[$0]?.centerX }
                return centres.isEmpty ? nil : centres.reduce(0, +) / Double(centres.count)
            }
            let ordered = row.enumerated().sorted { lhs, rhs in
                let left = desired(lhs.element) ?? .infinity
                let right = desired(rhs.element) ?? .infinity
                return left == right ? lhs.offset < rhs.offset : left < right
            }.map(\.element)
            var x = margin
            var drift: [Double] = []
            var rowNodes: [PlacedNode] = []
            for id in ordered {
                let node = byId[id]!
                var left = x
                if let centre = desired(id) {
                    left = max(centre - node.width / 2, x)
                    drift.append(centre - (left + node.width / 2))
                }
                rowNodes.append(
                    PlacedNode(id: id, layer: index, x: left, y: y, width: node.width, height: node.height))
                x = left + node.width + columnGap
            }
            // Pushed apart by their neighbours, a row slides back so its nodes sit, on average,
            // under their parents.
            let shift = drift.isEmpty ? 0 : drift.reduce(0, +) / Double(drift.count)
            for var node in rowNodes {
                node.x += shift
                placed[node.id] = node
            }
            y += (rowNodes.map(\.height).max() ?? 0) + layerGap
        }
        let minX = placed.values.map(\.x).min() ?? margin
        for id in placed.keys { placed[id]!.x += margin - minX }
        let width = (placed.values.map { $0.x + $0.width }.max() ?? 0) + margin
        let height = max(y - layerGap + margin, 2 * margin)

        // Edges leave the bottom of their node, spread in branch order, and enter the top of the
        // next; an edge going up runs around the right-hand side.
        var placedEdges: [PlacedEdge] = []
        for (from, indices) in outgoing.sorted(by: { (discovery[$0.key] ?? 0) < (discovery[$1.key] ?? 0) }) {
            guard let source = placed[from] else { continue }
            for (position, edgeIndex) in indices.enumerated() {
                let edge = edges[edgeIndex]
                guard let target = placed[edge.to] else { continue }
                let portX = source.x + source.width * Double(position + 1) / Double(indices.count + 1)
                let goesUp = back.contains(edgeIndex) || target.layer <= source.layer
                let curve: [Point]
                if goesUp {
                    let start = Point(x: source.x + source.width, y: source.y + source.height / 2)
                    let end = Point(x: target.x + target.width, y: target.y + target.height / 2)
                    let reach = max(start.x, end.x) + columnGap * 1.5
                    curve = [start, Point(x: reach, y: start.y), Point(x: reach, y: end.y), end]
                } else {
                    let start = Point(x: portX, y: source.bottom)
                    let end = Point(x: target.centerX, y: target.y)
                    let bend = (end.y - start.y) / 2
                    curve = [start, Point(x: start.x, y: start.y + bend), Point(x: end.x, y: end.y - bend), end]
                }
                placedEdges.append(
                    PlacedEdge(
                        from: edge.from, to: edge.to, label: edge.label, curve: curve,
                        labelAt: midpoint(curve), isBack: goesUp))
            }
        }
        let reach = placedEdges.filter(\.isBack).map { $0.curve[1].x }.max() ?? 0
        return JourneyGraphLayout(
            nodes: nodes.compactMap { placed[$0.id] }.sorted { ($0.layer, $0.x) < ($1.layer, $1.x) },
            edges: placedEdges, width: max(width, reach + margin), height: height)
    }

    /// The point halfway along a cubic Bézier (t = 1/2).
    static func midpoint(_ curve: [Point]) -> Point {
        Point(
            x: (curve[0].x + 3 * curve[1].x + 3 * curve[2].x + curve[3].x) / 8,
            y: (curve[0].y + 3 * curve[1].y + 3 * curve[2].y + curve[3].y) / 8)
    }
}
