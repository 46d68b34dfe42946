import Foundation

/// Reads configuration from environment variables; every setting has a local default, except the
/// secrets, which outside development must be given.
///
/// Any `ENGAGE_` variable `NAME` may instead be given as `NAME_FILE`, the path of a file holding the value
/// (a Kubernetes or compose secret mounted as a file); surrounding whitespace and the final newline
/// are dropped. Setting both is an error, like a file that cannot be read (`checkFiles`).
///
/// Tests pass a dictionary (an in-memory environment). Why this is not swift-configuration:
/// docs/configuration.md, "Why not swift-configuration".
public struct EnvironmentVariables: Sendable {
    public var values: [String: String]
    /// What went wrong reading `*_FILE` variables; reported by `checkFiles`.
    public private(set) var fileProblems: [String] = []

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        var resolved = values
        // Only the platform's own variables: others ending in _FILE (TF_CLI_CONFIG_FILE...) are not ours.
        for (name, path) in values where name.hasPrefix("ENGAGE_") && name.hasSuffix("_FILE") && !path.isEmpty {
            let target = String(name.dropLast("_FILE".count))
            if let direct = values[target], !direct.isEmpty {
                fileProblems.append("set either \(target) or \(name), not both")
                continue
            }
            do {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                resolved[target] = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                fileProblems.append("\(name): cannot read \(path) (\(error.localizedDescription))")
            }
        }
        self.values = resolved
    }

    /// Throws the first problem with a `*_FILE` variable.
    public func checkFiles() throws {
        if let problem = fileProblems.sorted().first { throw ServiceConfigError(problem) }
    }

    /// `ENGAGE_ENV=development` allows development defaults for secrets; anything
    /// else, including unset, is a deployment where every secret must be given.
    public var isDevelopment: Bool { values["ENGAGE_ENV"] == "development" }

    /// A secret: its value; in development `developmentDefault` when it is unset; otherwise a
    /// configuration error that says how to set it.
    public func secret(_ name: String, developmentDefault: String? = nil, hint: String) throws -> String {
        if let value = values[name], !value.isEmpty { return value }
        if isDevelopment, let developmentDefault { return developmentDefault }
        throw ServiceConfigError("\(name) is required (or \(name)_FILE, a file holding it): \(hint)")
    }

    public func string(_ name: String, default defaultValue: String) -> String {
        guard let value = values[name], !value.isEmpty else { return defaultValue }
        return value
    }

    public func int(_ name: String, default defaultValue: Int) throws -> Int {
        guard let text = values[name], !text.isEmpty else { return defaultValue }
        guard let value = Int(text) else { throw ServiceConfigError("\(name) must be an integer, got \"\(text)\"") }
        return value
    }

    /// A comma-separated list, each item trimmed, empty ones dropped; `defaultValue` when unset or empty.
    public func list(_ name: String, default defaultValue: [String]) -> [String] {
        guard let text = values[name], !text.isEmpty else { return defaultValue }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `key=value,key=value` pairs, e.g. librdkafka properties.
    public func pairs(_ name: String) throws -> [String: String] {
        guard let text = values[name], !text.isEmpty else { return [:] }
        var result: [String: String] = [:]
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ServiceConfigError("\(name): \"\(item)\" is not key=value") }
            result[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return result
    }
}

public struct ServiceConfigError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
