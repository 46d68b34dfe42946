import Contracts
import Foundation

/// A row the uploader refuses, for the error report.
public struct CSVRowError: Error, Equatable, Sendable {
    public var row: Int
    public var code: String
    public var message: String
}

/// Turns one data row into an identify-like message (identifiers and traits; it goes through
/// identity resolution like an identify call) and the subscription commands of its status cells.
/// A row with any invalid cell is refused whole, so fixing and re-uploading it is all it takes.
public struct CSVRowMapper: Sendable {
    public var layout: CSVLayout
    public var uploadId: String
    public var spaceId: String
    /// When the upload was made: the time of every row's commands and traits.
    public var uploadedAt: Date

    public struct Mapped: Sendable {
        public var message: IncomingMessage
        public var commands: [SubscriptionCommand]
    }

    public func map(_ record: CSVRecord) -> Result<Mapped, CSVRowError> {
        let row = record.number
        func fail(_ code: String, _ message: String) -> Result<Mapped, CSVRowError> {
            .failure(CSVRowError(row: row, code: code, message: message))
        }
        guard record.fields.count == layout.columns.count else {
            return fail(
                "WRONG_COLUMN_COUNT",
                "the row has \(record.fields.count) fields; the header has \(layout.columns.count)")
        }
        var userId: String?
        var anonymousId: String?
        var email: String?
        var phone: String?
        var traits: [String: JSONValue] = [:]
        var statuses: [(SubscriptionChannel, String?, SubscriptionStatus, String)] = []
        var hasIdentifier = false
        for (index, role) in layout.roles.enumerated() {
            let value = record.fields[index].trimmingWhitespace()
            guard !value.isEmpty else { continue }  // a blank cell never overwrites anything
            let column = layout.columns[index]
            switch role {
            case .identifier(let type, let traitKey):
                hasIdentifier = true
                switch type {
                case "user_id": userId = value
                case "anonymous_id": anonymousId = value
                case "email":
                    do { email = try ContactNormalizer.email(value) } catch {
                        return fail("INVALID_EMAIL", error.reason)
                    }
                    traits[traitKey ?? type] = .string(email!)
                case "phone":
                    do { phone = try ContactNormalizer.phone(value) } catch {
                        return fail("INVALID_PHONE", error.reason)
                    }
                    traits[traitKey ?? type] = .string(phone!)
                default:
                    traits[traitKey ?? type] = .string(value)
                }
            case .channelStatus(let channel):
                guard let status = SubscriptionStatus(loose: value) else {
                    return fail(
                        "INVALID_SUBSCRIPTION_STATUS",
                        "\(column) \"\(value)\" is not subscribed, unsubscribed or did_not_subscribe")
                }
                statuses.append((channel, nil, status, column))
            case .groupStatus(let group):
                guard let status = SubscriptionStatus(loose: value) else {
                    return fail(
                        "INVALID_SUBSCRIPTION_STATUS",
                        "\(column) \"\(value)\" is not subscribed, unsubscribed or did_not_subscribe")
                }
                statuses.append((.email, group, status, column))
            case .trait(let key):
                traits[key] = .string(value)
            }
        }
        guard hasIdentifier else { return fail("MISSING_IDENTIFIER", "every identifier cell of the row is blank") }
        var commands: [SubscriptionCommand] = []
        // The global email state goes before group states, so a row can subscribe to both at once.
        for (channel, group, status, column) in statuses.sorted(by: { ($0.1 == nil ? 0 : 1) < ($1.1 == nil ? 0 : 1) }) {
            guard let contact = channel == .email ? email : phone else {
                return fail(
                    "MISSING_IDENTIFIER",
                    "\(column) needs \(channel == .email ? "an email" : "a phone") value in the same row")
            }
            commands.append(
                SubscriptionCommand(
                    id: "\(uploadId):\(row):\(column.lowercased())", channel: channel, contact: contact, group: group,
                    status: status,
                    occurredAt: uploadedAt, sequence: Int64(row), reference: String(row)))
        }
        // Rows are stamped at the upload time plus their row number in microseconds, so within a
        // file the later row wins for traits as it does for subscription states.
        let timestamp = uploadedAt.addingTimeInterval(Double(row) / 1_000_000)
        let message = SegmentMessage(
            type: .identify, messageId: "csv-\(uploadId)-\(row)", userId: userId, anonymousId: anonymousId,
            traits: traits, context: ["library": ["name": "engage-csv-uploader", "version": "1"]],
            timestamp: timestamp, receivedAt: uploadedAt)
        return .success(
            Mapped(
                message: IncomingMessage(
                    spaceId: spaceId, sourceId: "csv-upload:\(uploadId)", message: message,
                    recordsEvent: false),
                commands: commands))
    }
}
