import Contracts
import Foundation

/// One item of a replace call, Segment Public API style:
/// `{"key": "ada@example.com", "type": "EMAIL", "status": "SUBSCRIBED", "groups": [{"name": "Newsletter", "status": "UNSUBSCRIBED"}]}`.
/// `status` may be omitted when only groups change. Each item becomes one command per state it names.
public enum SubscriptionItems {
    public static let maxItemsPerCall = 1_000
    public static let maxItemsPerJob = 100_000

    public struct ItemError: Error, Equatable, Encodable {
        public var code: SubscriptionRejectionCode
        public var message: String
    }

    /// The commands of one item, in order (global state first, then groups), or why it is invalid.
    public static func commands(of item: JSONValue, index: Int, idPrefix: String, at time: Date) -> Result<
        [SubscriptionCommand], ItemError
    > {
        func fail(_ code: SubscriptionRejectionCode, _ message: String) -> Result<[SubscriptionCommand], ItemError> {
            .failure(ItemError(code: code, message: "subscriptions[\(index)]: \(message)"))
        }
        guard let object = item.objectValue else { return fail(.invalidCommand, "must be an object") }
        guard let key = object["key"]?.stringValue, !key.trimmingWhitespace().isEmpty else {
            return fail(.invalidCommand, "key is required (an email address or phone number)")
        }
        guard let typeText = object["type"]?.stringValue else {
            return fail(.invalidCommand, "type is required: EMAIL, SMS or WHATSAPP")
        }
        guard let channel = SubscriptionChannel(loose: typeText) else {
            return fail(.invalidCommand, "type \"\(typeText)\" is not EMAIL, SMS or WHATSAPP")
        }
        let contact: String
        do {
            contact = try ContactNormalizer.normalize(key, as: channel.contactKind)
        } catch {
            return fail(channel == .email ? .invalidEmail : .invalidPhone, error.reason)
        }
        var commands: [SubscriptionCommand] = []
        if let statusValue = object["status"], statusValue != .null {
            guard let text = statusValue.stringValue, let status = SubscriptionStatus(loose: text) else {
                return fail(
                    .invalidSubscriptionStatus,
                    "status \(statusValue.json) is not SUBSCRIBED, UNSUBSCRIBED or DID_NOT_SUBSCRIBE")
            }
            commands.append(
                SubscriptionCommand(
                    id: "\(idPrefix):\(index)", channel: channel, contact: contact, status: status,
                    occurredAt: time, sequence: Int64(index), reference: String(index)))
        }
        if let groupsValue = object["groups"], groupsValue != .null {
            guard let groups = groupsValue.arrayValue else { return fail(.invalidCommand, "groups must be an array") }
            guard channel == .email || groups.isEmpty else {
                return fail(.groupNotOnEmail, "groups exist for EMAIL only")
            }
            for (groupIndex, group) in groups.enumerated() {
                guard let name = group["name"]?.stringValue, !name.trimmingWhitespace().isEmpty else {
                    return fail(.invalidCommand, "groups[\(groupIndex)].name is required")
                }
                guard let text = group["status"]?.stringValue, let status = SubscriptionStatus(loose: text) else {
                    return fail(
                        .invalidSubscriptionStatus,
                        "groups[\(groupIndex)].status must be SUBSCRIBED, UNSUBSCRIBED or DID_NOT_SUBSCRIBE")
                }
                commands.append(
                    SubscriptionCommand(
                        id: "\(idPrefix):\(index):g\(groupIndex)", channel: .email, contact: contact,
                        group: name.trimmingWhitespace(), status: status, occurredAt: time,
                        sequence: Int64(index), reference: String(index)))
            }
        }
        if commands.isEmpty { return fail(.invalidCommand, "names neither a status nor groups") }
        return .success(commands)
    }

    /// Items (with their index) turned into one ordered command list, remembering which item each
    /// command came from; invalid items keep their error.
    public struct Plan: Sendable {
        public var items: [(index: Int, item: JSONValue)]
        public var commands: [SubscriptionCommand] = []
        var commandItem: [Int] = []
        var errors: [Int: ItemError] = [:]

        public init(items: [(index: Int, item: JSONValue)], idPrefix: String, at time: Date) {
            self.items = items
            for (index, item) in items {
                switch SubscriptionItems.commands(of: item, index: index, idPrefix: idPrefix, at: time) {
                case .success(let itemCommands):
                    commands += itemCommands
                    commandItem += Array(repeating: index, count: itemCommands.count)
                case .failure(let error):
                    errors[index] = error
                }
            }
        }

        /// Each item's result from the outcomes of `commands` (in the same order).
        public func results(_ outcomes: [CommandOutcome]) -> [ItemResult] {
            var byItem: [Int: [CommandOutcome]] = [:]
            for (position, outcome) in outcomes.enumerated() {
                byItem[commandItem[position], default: []].append(outcome)
            }
            return items.map { index, item in
                SubscriptionItems.result(index: index, item: item, error: errors[index], outcomes: byItem[index] ?? [])
            }
        }
    }

    /// The result of one item, from the outcomes of its commands.
    public struct ItemResult: Encodable, Equatable {
        public var index: Int
        public var key: String?
        public var type: String?
        /// `rejected` if any command was refused (the item's other states still apply), else `applied`
        /// if any state changed, else `unchanged`.
        public var result: String
        public var errors: [ItemError]
        public var states: [CommandOutcome]
    }

    public static func result(index: Int, item: JSONValue, error: ItemError?, outcomes: [CommandOutcome]) -> ItemResult
    {
        var errors = error.map { [$0] } ?? []
        for outcome in outcomes where outcome.kind == .rejected {
            errors.append(ItemError(code: outcome.code ?? .invalidCommand, message: outcome.message ?? ""))
        }
        let result = !errors.isEmpty ? "rejected" : outcomes.contains { $0.kind == .applied } ? "applied" : "unchanged"
        return ItemResult(
            index: index, key: item["key"]?.stringValue, type: item["type"]?.stringValue, result: result,
            errors: errors, states: outcomes)
    }
}
