import Contracts
import Foundation
@preconcurrency import Stencil
import Synchronization

/// Where and why a template text cannot be used: shown to the author on save.
public struct TemplateProblem: Error, Sendable, Equatable, Encodable {
    /// The template field, e.g. `subject`, `html`, `body`.
    public var field: String
    public var line: Int?
    public var column: Int?
    public var reason: String

    public var description: String {
        if let line, let column { return "\(field), line \(line), column \(column): \(reason)" }
        return "\(field): \(reason)"
    }
}

/// Merge tags in the Liquid style Engage uses (`{{profile.traits.first_name | default: "there"}}`),
/// rendered by Stencil: its variable, filter (`name: arg` with or without the space) and
/// `{% if %}`/`{% for %}` syntax is the same, it reports unknown filters and tags with their line,
/// and it resolves dotted paths through dictionaries. Filters Liquid spells differently are added
/// under Liquid's names, and `default` follows Liquid (also replaces empty text and false).
///
/// Texts are parsed once and their nodes reused (`ParsedTemplates`): lexing and parsing cost as
/// much as rendering, and a send renders the same few template versions over and over.
public enum LiquidTemplates {
    /// Names a template may use besides `profile.*`.
    public static let linkVariables = ["unsubscribe_link", "manage_preferences_link"]

    /// Built once: an `Environment` and its `Extension` are only read after this, and building them
    /// per render (seven filter closures) showed in the send path's profile.
    nonisolated(unsafe) static let environment = makeEnvironment()

    static func makeEnvironment() -> Environment {
        let liquid = Extension()
        liquid.registerFilter("default") { value, arguments in
            if isBlank(value) { return arguments.first ?? nil }
            return value
        }
        liquid.registerFilter("upcase") { ($0.map { "\($0)" })?.uppercased() }
        liquid.registerFilter("downcase") { ($0.map { "\($0)" })?.lowercased() }
        liquid.registerFilter("capitalize") { value in
            guard let text = value.map({ "\($0)" }), let first = text.first else { return value }
            return first.uppercased() + text.dropFirst()
        }
        liquid.registerFilter("strip") { ($0.map { "\($0)" })?.trimmingCharacters(in: .whitespacesAndNewlines) }
        liquid.registerFilter("escape") { ($0.map { "\($0)" }).map(escapeHTML) }
        liquid.registerFilter("url_encode") { value in
            value.map { "\($0)" }?.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed)
        }
        return Environment(extensions: [liquid])
    }

    static func isBlank(_ value: Any?) -> Bool {
        guard let value else { return true }
        if let text = value as? String { return text.isEmpty }
        if let flag = value as? Bool { return !flag }
        if value is NSNull { return true }
        return String(describing: value) == "nil"
    }

    /// Checks a text by rendering it against a sample context: unknown filters and tags, unclosed
    /// blocks and bad syntax all fail here, with their position.
    /// `cached: false` for drafts (a preview per keystroke would push the sent texts out of the cache).
    public static func check(_ source: String, field: String, cached: Bool = true) throws(TemplateProblem) {
        _ = try render(source, field: field, context: MergeContext.sample.values, cached: cached)
    }

    public static func render(_ source: String, field: String, context: [String: Any], cached: Bool = true)
        throws(TemplateProblem) -> String
    {
        // Plain text (most subjects and many bodies) needs no template at all.
        guard source.contains("{{") || source.contains("{%") || source.contains("{#") else { return source }
        do {
            let nodes =
                cached
                ? try ParsedTemplates.shared.nodes(source, environment: environment)
                : try ParsedTemplates.parse(source, environment: environment)
            return try renderNodes(nodes, Context(dictionary: context, environment: environment))
        } catch let error as TemplateSyntaxError {
            let location = error.token?.sourceMap.location
            let line = location.map { Int($0.lineNumber) }.flatMap { $0 > 0 ? $0 : nil }
            throw TemplateProblem(
                field: field, line: line, column: line == nil ? nil : location.map { $0.lineOffset + 1 },
                reason: error.reason)
        } catch {
            throw TemplateProblem(field: field, line: nil, column: nil, reason: "\(error)")
        }
    }

    /// Whether a text has a merge tag for one of `names` (a static check of its tags).
    public static func references(_ source: String, anyOf names: [String]) -> Bool {
        Template(templateString: source).tokens.contains { token in
            token.kind == .variable && names.contains { token.contents.contains($0) }
        }
    }

    public static func escapeHTML(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

extension CharacterSet {
    static let urlQueryValueAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~")
        return set
    }()
}

/// Parsed template texts by source, shared by every render. Stencil's nodes are only read while
/// rendering (the lazily split token components are touched by the parser alone, which runs under
/// the lock), so one parse serves concurrent renders. Bounded by the size of the texts it holds
/// (HTML bodies can be large): when full it starts again.
final class ParsedTemplates: Sendable {
    static let shared = ParsedTemplates(capacityBytes: 8 << 20)

    /// Parsed nodes; immutable once built, see above.
    private struct Nodes: @unchecked Sendable { let nodes: [NodeType] }

    private struct State {
        var nodes: [String: Nodes] = [:]
        var bytes = 0
    }

    private let capacityBytes: Int
    private let state = Mutex(State())

    init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

    var count: Int { state.withLock { $0.nodes.count } }

    /// One parse, kept by no one: its template and tokens are this call's own.
    static func parse(_ source: String, environment: Environment) throws -> [NodeType] {
        let template = Template(templateString: source, environment: environment)
        return try TokenParser(tokens: template.tokens, environment: environment).parse()
    }

    func nodes(_ source: String, environment: Environment) throws -> [NodeType] {
        try state.withLock { state in
            if let found = state.nodes[source] { return found.nodes }
            let nodes = try Self.parse(source, environment: environment)
            if state.bytes + source.utf8.count > capacityBytes { state = State() }
            state.nodes[source] = Nodes(nodes: nodes)
            state.bytes += source.utf8.count
            return nodes
        }
    }
}
