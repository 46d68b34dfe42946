import Contracts
import Foundation

/// A webhook destination as the API shows it.
public struct Destination: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        case active
        /// Not attempted: paused by the operator, or after a delivery failed every attempt. Events
        /// keep queuing and go out, in order, on resume.
        case paused
    }

    public var id: String
    public var spaceId: String
    public var name: String
    public var url: String
    /// Event names it receives; a name ending in `*` matches by prefix. Empty: every event.
    public var events: [String]
    /// Only in the answers to create and rotate.
    public var secret: String?
    public var status: Status
    public var pausedReason: String?
    public var pausedAt: Date?
    public var consecutiveFailures: Int
    public var lastSuccessAt: Date?
    public var lastFailureAt: Date?
    public var pending: Int64
    public var delivered: Int64
    public var createdAt: Date
    public var updatedAt: Date
}

/// Which events a destination takes.
struct EventFilter: Sendable, Hashable {
    var exact: Set<String>
    var prefixes: [String]

    init(_ patterns: [String]) {
        exact = Set(patterns.filter { !$0.hasSuffix("*") })
        prefixes = patterns.filter { $0.hasSuffix("*") }.map { String($0.dropLast()) }
    }

    func matches(_ event: String) -> Bool {
        if exact.isEmpty && prefixes.isEmpty { return true }
        return exact.contains(event) || prefixes.contains { event.hasPrefix($0) }
    }
}

/// Checks of what an operator sends for a destination; each failure names the field.
enum DestinationRules {
    static func url(_ text: String) throws(DestinationError) -> String {
        guard text.count <= 2_048, let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty
        else { throw DestinationError("url: must be an absolute http or https URL") }
        guard components.user == nil, components.password == nil else {
            throw DestinationError("url: must not carry credentials; verify deliveries with the signature instead")
        }
        return text
    }

    static func name(_ text: String) throws(DestinationError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 200 else {
            throw DestinationError("name: must be 1 to 200 characters")
        }
        return trimmed
    }

    static func events(_ names: [String]) throws(DestinationError) -> [String] {
        guard names.count <= 200 else { throw DestinationError("events: at most 200 names") }
        for (index, name) in names.enumerated() {
            guard !name.isEmpty, name.count <= 200, !name.dropLast().contains("*") else {
                throw DestinationError("events[\(index)]: must be an event name, or a prefix ending in * (\"Email *\")")
            }
        }
        return names
    }
}

struct DestinationError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
