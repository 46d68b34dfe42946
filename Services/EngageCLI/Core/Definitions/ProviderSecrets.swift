import Contracts
import Foundation

/// Provider secrets in a definitions directory: never the value, only where to read it:
/// `{"env": "SENDGRID_API_KEY"}` or `{"file": "secrets/sendgrid-key"}` (relative to the directory).
enum ProviderSecrets {
    static func fields(of kind: DefinitionKind) -> [String] {
        switch kind {
        case .sendGrid: ["apiKey"]
        case .twilio: ["apiKeySecret", "authToken"]
        default: []
        }
    }

    /// What `export` writes for a secret the space has.
    static func placeholder(_ kind: DefinitionKind, _ field: String) -> JSONValue {
        let variable =
            switch (kind, field) {
            case (.sendGrid, _): "ENGAGE_SENDGRID_API_KEY"
            case (_, "authToken"): "ENGAGE_TWILIO_AUTH_TOKEN"
            default: "ENGAGE_TWILIO_API_KEY_SECRET"
            }
        return .object(["env": .string(variable)])
    }

    /// The settings with each secret reference replaced by its value, or the problems reading them.
    static func resolved(
        _ definition: Definition, root: String, environment: [String: String]
    ) -> (body: JSONValue, problems: [DefinitionProblem]) {
        guard case .object(var body) = definition.body else { return (definition.body, []) }
        var problems: [DefinitionProblem] = []
        let place = definition.file ?? definition.kind.location
        for field in fields(of: definition.kind) {
            guard let reference = body[field] else { continue }
            if case .string = reference {
                problems.append(
                    DefinitionProblem(
                        place, "\(field): a secret is never written in a file; use {\"env\": NAME} or {\"file\": PATH}")
                )
                continue
            }
            if case .string(let variable)? = reference["env"] {
                guard let value = environment[variable], !value.isEmpty else {
                    problems.append(DefinitionProblem(place, "\(field): environment variable \(variable) is not set"))
                    continue
                }
                body[field] = .string(value)
            } else if case .string(let path)? = reference["file"] {
                let full = path.hasPrefix("/") ? path : root + "/" + path
                guard let data = FileManager.default.contents(atPath: full),
                    let text = String(data: data, encoding: .utf8)?.trimmed, !text.isEmpty
                else {
                    problems.append(DefinitionProblem(place, "\(field): cannot read secret file \(path)"))
                    continue
                }
                body[field] = .string(text)
            } else {
                problems.append(DefinitionProblem(place, "\(field): must be {\"env\": NAME} or {\"file\": PATH}"))
            }
        }
        return (.object(body), problems)
    }
}
