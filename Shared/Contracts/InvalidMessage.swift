/// Why a message (HTTP body or topic record) was refused. The text goes back to the caller (HTTP
/// 400) or into the dead-letter record, so it names the field and the rule.
public struct InvalidMessage: Error, Equatable, CustomStringConvertible, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
