import Contracts

/// One definition in its portable form: what a file in a definitions directory holds, with
/// references to other definitions by key or name instead of a space's ids.
public struct Definition: Sendable, Equatable {
    public var kind: DefinitionKind
    public var body: JSONValue
    /// The file it was read from (local) or nil (read from a space).
    public var file: String?

    public init(kind: DefinitionKind, body: JSONValue, file: String? = nil) {
        self.kind = kind
        self.body = body
        self.file = file
    }

    /// What identifies it within its kind: a key, a name (templates: channel and name, as names are
    /// unique per channel, case-insensitively), or the kind for a space-wide setting.
    public var identity: String {
        switch kind {
        case .sendGrid, .twilio, .sendPolicy: return kind.rawValue
        case .template:
            let channel = body["channel"]?.stringValue?.uppercased() ?? "?"
            return channel + "/" + (body["name"]?.stringValue?.lowercased() ?? "")
        default: return body[kind.identityField]?.stringValue ?? ""
        }
    }

    /// How a person reads it in a plan: `template SMS/Welcome`, `audience vip`.
    public var label: String {
        switch kind {
        case .sendGrid, .twilio, .sendPolicy: return kind.rawValue
        case .template:
            return "template \(body["channel"]?.stringValue?.uppercased() ?? "?")/\(body["name"]?.stringValue ?? "")"
        default: return "\(kind.rawValue) \(body[kind.identityField]?.stringValue ?? "")"
        }
    }
}

/// A problem with a definition, found before anything changes: where, and what.
public struct DefinitionProblem: Sendable, Equatable, CustomStringConvertible {
    public var place: String
    public var message: String

    public init(_ place: String, _ message: String) {
        self.place = place
        self.message = message
    }

    public var description: String { "\(place): \(message)" }
}
