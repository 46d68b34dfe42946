import Contracts

/// The order of commands on one state: the time the command was expressed (microseconds), then its
/// sequence within the producer (CSV row, item index), then its id, so the outcome never depends on
/// the order of arrival and a redelivered command is never newer than itself.
public struct CommandOrder: Comparable, Sendable, Hashable {
    public var micros: Int64
    public var sequence: Int64
    public var commandId: String

    public init(micros: Int64, sequence: Int64, commandId: String) {
        self.micros = micros
        self.sequence = sequence
        self.commandId = commandId
    }

    public static func < (a: CommandOrder, b: CommandOrder) -> Bool {
        (a.micros, a.sequence, a.commandId) < (b.micros, b.sequence, b.commandId)
    }
}

/// A stored state as the rules see it.
public struct StateSnapshot: Sendable, Equatable {
    public var status: SubscriptionStatus
    public var optedOutByReply: Bool
    public var order: CommandOrder

    public init(status: SubscriptionStatus, optedOutByReply: Bool, order: CommandOrder) {
        self.status = status
        self.optedOutByReply = optedOutByReply
        self.order = order
    }
}

/// What one command does to one state.
public enum Decision: Sendable, Equatable {
    /// A newer command already decided this state; nothing happens.
    case superseded
    /// The state already is what the command asks; only the command order advances.
    case unchanged(optedOutByReply: Bool)
    /// An effective change.
    case change(to: SubscriptionStatus, optedOutByReply: Bool)
    case reject(SubscriptionRejectionCode, String)
}

/// The consent rules, free of storage so they can be tested exhaustively.
public enum SubscriptionRules {
    /// - Parameters:
    ///   - current: the state the command targets (nil: no status).
    ///   - globalEmail: for a group command, the contact's global email state.
    public static func decide(
        status: SubscriptionStatus, channel: SubscriptionChannel, isGroup: Bool, source: SubscriptionSource,
        order: CommandOrder, current: StateSnapshot?, globalEmail: StateSnapshot?
    ) -> Decision {
        if let current, order <= current.order { return .superseded }
        // A global unsubscribe wins over every group: joining a group needs the global state not to be unsubscribed.
        if isGroup, status == .subscribed, globalEmail?.status == .unsubscribed {
            return .reject(
                .globalStateNotSubscribed,
                "the contact is unsubscribed from all email; a group subscription needs the global email state to be subscribed first"
            )
        }
        // An opt-out the person made by replying STOP can only be lifted by the person's own reply.
        if channel != .email, let current, current.status == .unsubscribed, current.optedOutByReply,
            source != .inboundReply, status != .unsubscribed
        {
            return .reject(
                .optedOutByReply,
                "the number opted out by replying STOP; only its own START, YES or UNSTOP reply can change that")
        }
        let byReply =
            channel != .email && status == .unsubscribed
            && (source == .inboundReply || (current?.status == .unsubscribed && current?.optedOutByReply == true))
        if current?.status == status { return .unchanged(optedOutByReply: byReply) }
        return .change(to: status, optedOutByReply: byReply)
    }
}
