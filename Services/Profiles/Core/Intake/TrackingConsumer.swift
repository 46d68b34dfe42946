import Contracts
import Foundation
import Kafka
import Logging
import Persistence

/// Consumes the tracking topic: validates every record exactly as the tracking API does, sends the
/// invalid ones to the dead-letter topic with the reason, and resolves the rest into profiles.
public struct TrackingConsumer: BatchHandler {
    let directory: SpaceDirectory
    let writer: ProfileWriter
    let logger: Logger

    public init(directory: SpaceDirectory, writer: ProfileWriter, logger: Logger) {
        self.directory = directory
        self.writer = writer
        self.logger = logger
    }

    public func handle(_ batch: [ConsumedRecord]) async throws -> [RecordFailure] {
        var failures: [RecordFailure] = []
        var valid: [IncomingMessage] = []
        for record in batch {
            do {
                valid.append(try await parse(record))
            } catch let invalid as InvalidMessage {
                failures.append(RecordFailure(record: record, reason: invalid.reason))
            }
        }
        let outcome = try await writer.write(valid)
        if outcome.duplicates > 0 {
            logger.info("skipped redelivered messages", metadata: ["count": "\(outcome.duplicates)"])
        }
        return failures
    }

    func parse(_ record: ConsumedRecord) async throws -> IncomingMessage {
        guard let value = record.value, !value.isEmpty else { throw InvalidMessage("empty record") }
        guard value.count <= SegmentNormalizer.maxEventBytes else {
            throw InvalidMessage("message is \(value.count) bytes; the limit is \(SegmentNormalizer.maxEventBytes)")
        }
        let object = try TrackingRecord.parseObject(value)
        let source: SourceRef?
        if let sourceId = record.headers[Header.sourceId], InternalSource.all.contains(sourceId) {
            guard let spaceId = record.headers[Header.spaceId] else {
                throw InvalidMessage("the internal source \"\(sourceId)\" needs the \(Header.spaceId) header")
            }
            source = try await directory.internalSource(id: sourceId, spaceId: spaceId)
            if source == nil { throw InvalidMessage("unknown space id \"\(spaceId)\" in the \(Header.spaceId) header") }
        } else if let sourceId = record.headers[Header.sourceId] {
            source = try await directory.source(id: sourceId)
            if source == nil {
                throw InvalidMessage("unknown source id \"\(sourceId)\" in the \(Header.sourceId) header")
            }
        } else if let writeKey = record.headers[Header.writeKey] ?? object["writeKey"]?.stringValue {
            source = try await directory.source(writeKey: writeKey)
            if source == nil { throw InvalidMessage("unknown write key") }
        } else {
            throw InvalidMessage(
                "no source: set the \(Header.sourceId) or \(Header.writeKey) header, or writeKey in the message")
        }
        let receivedAt = record.timestampMs.map { Date(timeIntervalSince1970: Double($0) / 1_000) } ?? Date()
        let message = try SegmentNormalizer.normalize(object, impliedType: nil, receivedAt: receivedAt)
        return IncomingMessage(spaceId: source!.spaceId, sourceId: source!.sourceId, message: message)
    }
}
