import Contracts
import Foundation

/// The condition builder's view of an audience definition: groups (all of / any of / none of)
/// holding conditions, for the recursive `audiences-node` template. The server renders it from
/// the definition; the page's script reads it back into JSON. What the builder cannot show (an
/// unknown type, a group without a list) becomes a raw node that keeps its JSON, so a round trip
/// through the builder loses nothing and the audiences API still judges it.
struct ConditionBuilder {
    /// Audiences a condition may name, by key, shown by name.
    var audiences: [(key: String, name: String)] = []
    /// The API's problems (`definition.conditions[0].count.value: must be ...`): each is shown on
    /// the deepest node its path points into.
    var problems: [String] = []

    enum Kind: String, CaseIterable {
        case group, event, trait
        case computedTrait = "computed_trait"
        case audience, subscription, raw

        var flag: String {
            "is" + rawValue.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        }

        var legend: String {
            switch self {
            case .group: "Group"
            case .event: "Event condition"
            case .trait: "Trait condition"
            case .computedTrait: "Computed trait condition"
            case .audience: "Audience condition"
            case .subscription: "Subscription condition"
            case .raw: "Condition shown as JSON"
            }
        }
    }

    struct Node {
        var kind: Kind
        /// Where it sits in the definition (`definition.conditions[1]`); nil for a group the
        /// builder adds around a definition that is a single condition.
        var path: String?
        var object: [String: JSONValue] = [:]
        var raw: JSONValue = .null
        var match = "all"
        var children: [Node] = []
    }

    /// The root group for a definition (nil: a new, empty one).
    func root(_ definition: JSONValue?) -> [String: Any] {
        let tree: Node
        if let definition {
            let node = Self.node(definition, path: "definition")
            tree = node.kind == .group ? node : Node(kind: .group, path: nil, children: [node])
        } else {
            tree = Node(kind: .group, path: "definition")
        }
        let errors = errorsByPath(tree)
        return view(tree, id: "c", root: true, errors: errors)
    }

    /// A blank node of a kind, for the page's script to copy when a person adds one (`__ID__` is
    /// replaced by a fresh id).
    func blank(_ kind: Kind) -> [String: Any] {
        view(Node(kind: kind, path: nil), id: "__ID__", root: false, errors: [:])
    }

    static func node(_ json: JSONValue, path: String) -> Node {
        guard case .object(let object) = json, let type = object["type"]?.stringValue else {
            return Node(kind: .raw, path: path, raw: json)
        }
        switch type {
        case "and", "or":
            guard case .array(let items)? = object["conditions"] else { return Node(kind: .raw, path: path, raw: json) }
            return Node(
                kind: .group, path: path, match: type == "and" ? "all" : "any",
                children: items.enumerated().map { node($1, path: "\(path).conditions[\($0)]") })
        case "not":
            guard let inner = object["condition"] else { return Node(kind: .raw, path: path, raw: json) }
            // "none of a, b" is not(or(a, b)); not(x) of anything else is "none of x".
            if case .object(let innerObject) = inner, innerObject["type"]?.stringValue == "or",
                case .array(let items)? = innerObject["conditions"], innerObject.count == 2
            {
                return Node(
                    kind: .group, path: path, match: "none",
                    children: items.enumerated().map { node($1, path: "\(path).condition.conditions[\($0)]") })
            }
            return Node(kind: .group, path: path, match: "none", children: [node(inner, path: "\(path).condition")])
        default:
            guard let kind = Kind(rawValue: type), kind != .group, kind != .raw else {
                return Node(kind: .raw, path: path, raw: json)
            }
            return Node(kind: kind, path: path, object: object, raw: json)
        }
    }

    // MARK: problems on nodes

    private func errorsByPath(_ tree: Node) -> [String: [String]] {
        var paths: [String] = []
        func collect(_ node: Node) {
            if let path = node.path { paths.append(path) }
            node.children.forEach(collect)
        }
        collect(tree)
        var errors: [String: [String]] = [:]
        for problem in problems {
            guard let colon = problem.range(of: ": ") else { continue }
            let target = String(problem[..<colon.lowerBound])
            let owner = paths.filter { path in
                target == path || target.hasPrefix(path + ".") || target.hasPrefix(path + "[")
            }.max { $0.count < $1.count }
            if let owner { errors[owner, default: []].append(problem) }
        }
        return errors
    }

    // MARK: views

    private func view(_ node: Node, id: String, root: Bool, errors: [String: [String]]) -> [String: Any] {
        // Every key is set on every node: Mustache looks a missing key up in the enclosing node,
        // which would repeat a parent's children inside its child.
        var view: [String: Any] = [
            "id": id, "kind": node.kind.rawValue, "isRoot": root, "legend": root ? "Conditions" : node.kind.legend,
            "children": [] as [Any], "filters": [] as [Any], "hasChildren": false,
            "matchOptions": [] as [Any], "kindOptions": [] as [Any], "event": "", "trait": "",
            "countOptions": [] as [Any], "countValue": "", "operatorOptions": [] as [Any], "value": "",
            "valueJSON": "", "hideValue": false, "audienceOptions": [] as [Any], "channelOptions": [] as [Any],
            "group": "", "hideGroup": false, "statusOptions": [] as [Any], "raw": "", "rawJSON": "",
            "removeLabel": node.kind == .group ? "Remove this group" : "Remove this condition",
        ]
        view.merge(Self.window(nil, id: id)) { $1 }
        for kind in Kind.allCases { view[kind.flag] = kind == node.kind }
        let messages = node.path.flatMap { errors[$0] } ?? []
        view["hasError"] = !messages.isEmpty
        view["errors"] = messages
        let object = node.object
        switch node.kind {
        case .group:
            view["matchOptions"] = SelectOptions.matches.view(selected: node.match)
            view["kindOptions"] = SelectOptions.conditionKinds.view(selected: nil)
            view["children"] = node.children.enumerated().map { index, child in
                self.view(child, id: "\(id)-\(index)", root: false, errors: errors)
            }
            view["hasChildren"] = !node.children.isEmpty
        case .event:
            view["event"] = DefinitionJSON.string(object, "event")
            let count = object["count"]?.objectValue
            view["countOptions"] = SelectOptions.counts.view(
                selected: count.map { DefinitionJSON.string($0, "operator") } ?? "at_least")
            view["countValue"] = count.map { DefinitionJSON.string($0, "value") } ?? "1"
            view["filters"] = Self.filters(object["where"], id: id)
            view.merge(Self.window(object["window"], id: id)) { $1 }
        case .trait, .computedTrait:
            view["trait"] = DefinitionJSON.string(object, "trait")
            view.merge(Self.comparison(object)) { $1 }
        case .audience:
            let key = DefinitionJSON.string(object, "audience")
            var options = SelectOptions(choices: [("", "Choose an audience")] + audiences.map { ($0.key, $0.name) })
            if !key.isEmpty, !audiences.contains(where: { $0.key == key }) {
                options.choices.append((key, "\(key) (no audience has this key yet)"))
            }
            view["audienceOptions"] = options.view(selected: key)
        case .subscription:
            let channel = DefinitionJSON.string(object, "channel").uppercased()
            view["channelOptions"] = SelectOptions.channels.view(selected: channel.isEmpty ? "EMAIL" : channel)
            view["group"] = DefinitionJSON.string(object, "group")
            view["hideGroup"] = !(channel.isEmpty || channel == "EMAIL")
            let status = DefinitionJSON.string(object, "status").lowercased()
            view["statusOptions"] = SelectOptions.statuses.view(selected: status.isEmpty ? "subscribed" : status)
        case .raw:
            view["raw"] = DefinitionJSON.pretty(node.raw)
            view["rawJSON"] = DefinitionJSON.compact(node.raw)
        }
        return view
    }

    /// An operator and its value, for a trait, a computed trait or a property filter. `valueJSON`
    /// keeps the exact value (a number stays a number) while its text is left as it was.
    static func comparison(_ object: [String: JSONValue]) -> [String: Any] {
        let op = object["operator"].map { DefinitionJSON.text($0) } ?? "equals"
        return [
            "operatorOptions": SelectOptions.operators.view(selected: op),
            "value": DefinitionJSON.text(object["value"]),
            "valueJSON": object["value"].map(DefinitionJSON.compact) ?? "",
            "hideValue": op == "exists" || op == "not_exists",
        ]
    }

    /// Property filters ("where"); a blank row is left for the script to copy.
    static func filters(_ json: JSONValue?, id: String) -> [[String: Any]] {
        (json?.arrayValue ?? []).enumerated().map { index, item in
            filterRow(item.objectValue ?? [:], id: "\(id)-f\(index)")
        }
    }

    static func filterRow(_ object: [String: JSONValue], id: String) -> [String: Any] {
        var row = comparison(object)
        row["id"] = id
        row["property"] = DefinitionJSON.string(object, "property")
        return row
    }

    /// An event condition's or a computed trait's window.
    static func window(_ json: JSONValue?, id: String) -> [String: Any] {
        let object = json?.objectValue ?? [:]
        let within = object["within"]?.objectValue
        let between = object["between"]?.objectValue
        let choice = within != nil ? "within" : between != nil ? "between" : ""
        return [
            "windowOptions": SelectOptions.windows.view(selected: choice),
            "withinValue": within.map { DefinitionJSON.string($0, "value") } ?? "7",
            "unitOptions": SelectOptions.units.view(
                selected: within.map { DefinitionJSON.string($0, "unit") } ?? "days"),
            "from": between.map { DefinitionJSON.string($0, "from") } ?? "",
            "to": between.map { DefinitionJSON.string($0, "to") } ?? "",
            "hideWithin": choice != "within", "hideBetween": choice != "between",
        ]
    }
}
