import Foundation

/// A messaging channel a contact can be subscribed on. Segment's Public API spells them in capitals.
public enum SubscriptionChannel: String, Codable, Sendable, CaseIterable, Hashable {
    case email = "EMAIL"
    case sms = "SMS"
    case whatsapp = "WHATSAPP"

    /// Accepts `EMAIL`, `email`, `Sms`...
    public init?(loose text: String) {
        self.init(rawValue: text.trimmingCharacters(in: .whitespaces).uppercased())
    }

    /// The CSV column prefix and the lower-case name in documents: `email`, `sms`, `whatsapp`.
    public var columnName: String { rawValue.lowercased() }

    /// The kind of contact the channel is addressed by.
    public var contactKind: ContactKind { self == .email ? .email : .phone }
}

/// A subscription state. "No status" is the absence of a state (nil), never a value.
public enum SubscriptionStatus: String, Codable, Sendable, CaseIterable, Hashable {
    case subscribed
    case unsubscribed
    case didNotSubscribe = "did_not_subscribe"

    /// Accepts `subscribed`, `SUBSCRIBED`, `did_not_subscribe`, `DID-NOT-SUBSCRIBE`, `did not subscribe`.
    public init?(loose text: String) {
        if let exact = SubscriptionStatus(rawValue: text) {
            self = exact
            return
        }
        let folded = text.trimmingCharacters(in: .whitespaces).lowercased()
            .replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_")
        self.init(rawValue: folded)
    }
}

/// What caused a subscription command. Only `inboundReply` may lift an opt-out made by a reply.
public enum SubscriptionSource: String, Codable, Sendable, CaseIterable, Hashable {
    case api
    case csv
    /// The person's own SMS/WhatsApp reply (STOP, START, ...), received by messaging-send.
    case inboundReply = "inbound_reply"
    /// An unsubscribe link or a one-click List-Unsubscribe POST.
    case unsubscribeLink = "unsubscribe_link"
    /// A provider event: SendGrid unsubscribe/group unsubscribe/spam report.
    case provider
}

/// One requested state for one contact on one channel (and optionally one email group).
public struct SubscriptionCommand: Codable, Sendable, Hashable {
    /// Unique and stable across retries of the same request.
    public var id: String
    public var channel: SubscriptionChannel
    /// Normalised contact: a lower-case email or an E.164 phone number.
    public var contact: String
    /// An email subscription group's name (case-insensitive); nil for the channel's global state.
    public var group: String?
    public var status: SubscriptionStatus
    /// When the person or system expressed this; a command older than the stored state loses.
    public var occurredAt: Date
    /// Orders commands with the same `occurredAt` (the row number of a CSV, the item index of a call).
    public var sequence: Int64
    /// The caller's reference for results, e.g. a CSV row number.
    public var reference: String?

    public init(
        id: String, channel: SubscriptionChannel, contact: String, group: String? = nil, status: SubscriptionStatus,
        occurredAt: Date, sequence: Int64 = 0, reference: String? = nil
    ) {
        self.id = id
        self.channel = channel
        self.contact = contact
        self.group = group
        self.status = status
        self.occurredAt = occurredAt
        self.sequence = sequence
        self.reference = reference
    }
}

/// `engage.subscription-commands`: a batch of commands from one producer. A STOP reply is a batch
/// of one keyed by its contact; a CSV chunk is one batch keyed by its upload. Ordering between
/// batches does not matter: each state keeps the newest command by (`occurredAt`, `sequence`).
public struct SubscriptionCommandBatch: Codable, Sendable, Hashable {
    public static let contract = "subscription-command-batch/1"
    public var schemaVersion: Int = 1
    public var id: String
    public var spaceId: String
    public var source: SubscriptionSource
    /// Free-form origin for the audit trail, e.g. `csv-upload:upl_...` or `message:msg_...`.
    public var origin: String?
    /// When set, the outcome is published on `engage.subscription-command-results` with this value.
    public var correlationId: String?
    public var commands: [SubscriptionCommand]

    public init(
        id: String, spaceId: String, source: SubscriptionSource, origin: String? = nil,
        correlationId: String? = nil, commands: [SubscriptionCommand]
    ) {
        self.id = id
        self.spaceId = spaceId
        self.source = source
        self.origin = origin
        self.correlationId = correlationId
        self.commands = commands
    }
}

/// Why a command was refused. Stable codes; messages are for people.
public enum SubscriptionRejectionCode: String, Codable, Sendable, CaseIterable {
    case invalidEmail = "INVALID_EMAIL"
    case invalidPhone = "INVALID_PHONE"
    case unknownGroup = "UNKNOWN_GROUP"
    case groupNotOnEmail = "GROUP_NOT_ON_EMAIL"
    case globalStateNotSubscribed = "GLOBAL_STATE_NOT_SUBSCRIBED"
    case optedOutByReply = "OPTED_OUT_BY_REPLY"
    case invalidSubscriptionStatus = "INVALID_SUBSCRIPTION_STATUS"
    case invalidCommand = "INVALID_COMMAND"
}

public struct SubscriptionRejection: Codable, Sendable, Hashable {
    public var commandId: String
    public var reference: String?
    public var code: SubscriptionRejectionCode
    public var message: String

    public init(commandId: String, reference: String?, code: SubscriptionRejectionCode, message: String) {
        self.commandId = commandId
        self.reference = reference
        self.code = code
        self.message = message
    }
}

/// `engage.subscription-command-results`: the outcome of a batch that carried a `correlationId`.
/// Published once per batch in the transaction that applied it; a redelivered batch can publish
/// it again, so consumers dedupe on `batchId`.
public struct SubscriptionCommandResult: Codable, Sendable {
    public static let contract = "subscription-command-result/1"
    public var schemaVersion: Int = 1
    public var batchId: String
    public var spaceId: String
    public var correlationId: String
    public var applied: Int
    public var unchanged: Int
    public var rejected: [SubscriptionRejection]

    public init(
        batchId: String, spaceId: String, correlationId: String, applied: Int, unchanged: Int,
        rejected: [SubscriptionRejection]
    ) {
        self.batchId = batchId
        self.spaceId = spaceId
        self.correlationId = correlationId
        self.applied = applied
        self.unchanged = unchanged
        self.rejected = rejected
    }
}

/// `engage.subscription-changes`: one effective change of one state. Key: `spaceId|channel|contact`.
/// `id` is deterministic (`<commandId>:<channel>:<group or *>`), so consumers can dedupe. Absent
/// values are explicit nulls: downstream tools in any language read every key.
public struct SubscriptionChange: Codable, Sendable, Hashable, EncodesAbsentAsNull {
    public static let contract = "subscription-change/1"
    public var schemaVersion: Int = 1
    public var id: String
    public var spaceId: String
    public var channel: SubscriptionChannel
    public var contact: String
    /// nil for the channel's global state.
    public var group: GroupRef?
    /// nil: there was no status before.
    public var previousStatus: SubscriptionStatus?
    public var status: SubscriptionStatus
    public var source: SubscriptionSource
    public var origin: String?
    public var commandId: String
    /// The command's time (when the person or system expressed it).
    public var occurredAt: Date
    /// When this service applied it.
    public var recordedAt: Date

    public struct GroupRef: Codable, Sendable, Hashable {
        public var id: String
        public var name: String
        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    public init(
        spaceId: String, channel: SubscriptionChannel, contact: String, group: GroupRef?,
        previousStatus: SubscriptionStatus?,
        status: SubscriptionStatus, source: SubscriptionSource, origin: String?, commandId: String,
        occurredAt: Date, recordedAt: Date
    ) {
        self.id = "\(commandId):\(channel.rawValue):\(group?.id ?? "*")"
        self.spaceId = spaceId
        self.channel = channel
        self.contact = contact
        self.group = group
        self.previousStatus = previousStatus
        self.status = status
        self.source = source
        self.origin = origin
        self.commandId = commandId
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
    }

    public var key: String { "\(spaceId)|\(channel.rawValue)|\(contact)" }
}

/// `engage.subscription-groups`: the full current record of an email subscription group, published
/// on every change (also deletion). Key: `spaceId|id`. Services keep replicas of it.
public struct SubscriptionGroupRecord: Codable, Sendable, Hashable {
    public static let contract = "subscription-group/1"
    public var schemaVersion: Int = 1
    public var spaceId: String
    public var id: String
    public var name: String
    public var deleted: Bool
    /// Increases with every change; a replica keeps the highest.
    public var revision: Int64

    public init(spaceId: String, id: String, name: String, deleted: Bool, revision: Int64) {
        self.spaceId = spaceId
        self.id = id
        self.name = name
        self.deleted = deleted
        self.revision = revision
    }
}
