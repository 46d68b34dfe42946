import Foundation

/// Reads configuration from environment variables; every setting has a local default.
public struct EnvironmentVariables: Sendable {
    public var values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
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
