import Contracts

/// What happened to one command, for the caller (API response, job result, command result).
public struct CommandOutcome: Sendable, Encodable, Equatable {
    public enum Kind: String, Sendable, Encodable {
        case applied, unchanged, superseded, rejected
    }

    public var commandId: String
    public var reference: String?
    public var channel: SubscriptionChannel
    public var contact: String
    public var group: String?
    public var kind: Kind
    public var code: SubscriptionRejectionCode?
    public var message: String?
    public var previousStatus: SubscriptionStatus?
    public var status: SubscriptionStatus?

    static func rejected(_ command: SubscriptionCommand, _ code: SubscriptionRejectionCode, _ message: String)
        -> CommandOutcome
    {
        CommandOutcome(
            commandId: command.id, reference: command.reference, channel: command.channel, contact: command.contact,
            group: command.group, kind: .rejected, code: code, message: message)
    }
}
