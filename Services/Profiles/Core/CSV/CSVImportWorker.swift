import Contracts
import Foundation
import Logging
import Metrics
import NIOCore
import Persistence
import PostgresNIO
import ServiceKit
import ServiceLifecycle

/// Imports queued uploads. Each transaction takes the next rows of one upload: resolves them into
/// profiles (as identify calls that are not events), queues their subscription commands as one
/// batch on the outbox, records the bad rows, and moves the upload's resume point past them.
/// Uploads are leased (`FOR UPDATE SKIP LOCKED`, renewed per transaction), so instances share the
/// work and a crash resumes at the last committed row, neither skipping nor repeating one.
public final class CSVImportWorker: Service, Sendable {
    let store: CSVUploadStore
    let writer: ProfileWriter
    let rowsPerTransaction: Int
    let logger: Logger
    let rowsCounter = Counter(label: "engage_csv_rows_total")

    public init(store: CSVUploadStore, writer: ProfileWriter, rowsPerTransaction: Int, logger: Logger) {
        self.store = store
        self.writer = writer
        self.rowsPerTransaction = rowsPerTransaction
        self.logger = logger
    }

    public func run() async throws {
        // A completed upload wakes the worker of the instance that took it; the unprompted runs
        // resume imports of instances that died, at most 5 s late once idle.
        await store.wakeups.run(every: .seconds(1), idleUpTo: .seconds(5), loop: "CSV imports") {
            var found = false
            do {
                try await self.dropAbandonedUploads()
                while !Task.isShuttingDownGracefully, let upload = try await self.claim() {
                    found = true
                    try await self.importRows(of: upload)
                }
            } catch {
                self.logger.error("CSV import failed, will retry", metadata: ["error": "\(String(reflecting: error))"])
                found = true
            }
            return found
        }
    }

    /// An upload whose sender went away (or whose instance died) mid-stream never becomes `queued`.
    func dropAbandonedUploads() async throws {
        try await store.db.query(
            """
            DELETE FROM csv_uploads WHERE status = 'receiving' AND created_at < now() - interval '6 hours'
            """, logger: logger)
    }

    struct Claimed {
        var id: String, spaceId: String, createdAt: Date, layout: CSVLayout, nextOffset: Int64, nextRow: Int
    }

    func claim() async throws -> Claimed? {
        for try await (id, spaceId, createdAt, layoutJSON, offset, row) in try await store.db.query(
            """
            UPDATE csv_uploads SET status = 'processing', started_at = COALESCE(started_at, now()), lease_until = now() + interval '60 seconds'
            WHERE id = (SELECT id FROM csv_uploads WHERE status = 'queued' OR (status = 'processing' AND lease_until < now())
                        ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1)
            RETURNING id, space_id, created_at, layout::text, next_offset, next_row
            """, logger: logger
        ).decode((String, String, Date, String, Int64, Int).self) {
            let layout = try WireDecoder.decode(CSVLayout.self, from: layoutJSON.utf8)
            return Claimed(
                id: id, spaceId: spaceId, createdAt: createdAt, layout: layout, nextOffset: offset, nextRow: row)
        }
        return nil
    }

    func importRows(of upload: Claimed) async throws {
        var log = logger
        log[metadataKey: "upload_id"] = "\(upload.id)"
        log.info("CSV import started", metadata: ["offset": "\(upload.nextOffset)", "row": "\(upload.nextRow)"])
        let mapper = CSVRowMapper(
            layout: upload.layout, uploadId: upload.id, spaceId: upload.spaceId, uploadedAt: upload.createdAt)
        var parser = CSVParser(startOffset: upload.nextOffset, nextRecordNumber: upload.nextRow)
        var offset = upload.nextOffset
        var pending: [CSVRecord] = []
        var nextChunk = Int(upload.nextOffset / Int64(CSVUploadStore.chunkSize))
        var skip = Int(upload.nextOffset % Int64(CSVUploadStore.chunkSize))
        var endOfFile = false
        while true {
            // Read chunks until a transaction's worth of rows is in hand (or the file ends).
            while pending.count < rowsPerTransaction && !endOfFile {
                if let chunk = try await readChunk(uploadId: upload.id, seq: nextChunk) {
                    try parser.feed(chunk.readableBytesView.dropFirst(skip)) { pending.append($0) }
                    skip = 0
                    nextChunk += 1
                } else {
                    try parser.finish { pending.append($0) }
                    endOfFile = true
                }
            }
            let rows = Array(pending.prefix(rowsPerTransaction))
            pending.removeFirst(rows.count)
            let last = endOfFile && pending.isEmpty
            guard try await commit(rows, of: upload, mapper: mapper, expectedOffset: offset, finished: last) else {
                log.warning("CSV upload was taken over by another worker; stopping here")
                return
            }
            rowsCounter.increment(by: rows.count)
            FreedMemory.returnToSystem()
            if let final = rows.last { offset = final.endOffset }
            if last { break }
            if Task.isShuttingDownGracefully {
                // Hand the upload back at once: the next instance (or this one restarted) resumes here.
                try await store.db.query(
                    "UPDATE csv_uploads SET lease_until = now() WHERE id = \(upload.id)", logger: logger)
                log.info("CSV import paused for shutdown", metadata: ["offset": "\(offset)"])
                return
            }
        }
        log.info("CSV rows imported")
    }

    private func readChunk(uploadId: String, seq: Int) async throws -> ByteBuffer? {
        for try await data in try await store.db.query(
            "SELECT data FROM csv_upload_chunks WHERE upload_id = \(uploadId) AND seq = \(seq)", logger: logger
        ).decode(ByteBuffer.self) {
            return data
        }
        return nil
    }

    /// One transaction; false when the upload's resume point is not where this worker left it.
    private func commit(
        _ rows: [CSVRecord], of upload: Claimed, mapper: CSVRowMapper, expectedOffset: Int64, finished: Bool
    ) async throws -> Bool {
        var messages: [IncomingMessage] = []
        var commands: [SubscriptionCommand] = []
        var errors: [CSVRowError] = []
        for record in rows {
            switch mapper.map(record) {
            case .success(let mapped):
                messages.append(mapped.message)
                commands += mapped.commands
            case .failure(let error):
                errors.append(error)
            }
        }
        var attempt = 0
        while true {
            do {
                return try await store.db.transaction(logger: logger) { [self, messages, commands, errors] connection in
                    var current: Int64 = -1
                    for try await offset in try await connection.query(
                        "SELECT next_offset FROM csv_uploads WHERE id = \(upload.id) FOR UPDATE", logger: logger
                    ).decode(Int64.self) { current = offset }
                    guard current == expectedOffset else { return false }
                    _ = try await writer.write(messages, on: connection)
                    if !commands.isEmpty {
                        let batch = SubscriptionCommandBatch(
                            id: "\(upload.id):\(rows[0].number)", spaceId: upload.spaceId, source: .csv,
                            origin: "csv-upload:\(upload.id)",
                            correlationId: upload.id, commands: commands)
                        try await Outbox.enqueue(
                            [
                                try OutboxMessage(
                                    topic: Topic.subscriptionCommands, key: upload.id, event: batch,
                                    contract: SubscriptionCommandBatch.contract,
                                    headers: [Header.spaceId: upload.spaceId])
                            ],
                            on: connection, logger: logger)
                    }
                    if !errors.isEmpty {
                        try await connection.query(
                            """
                            INSERT INTO csv_upload_errors (upload_id, row_number, code, message)
                            SELECT \(upload.id), r, c, m FROM unnest(\(errors.map(\.row))::int[], \(errors.map(\.code))::text[], \(errors.map(\.message))::text[]) AS e(r, c, m)
                            """, logger: logger)
                    }
                    let sent = commands.isEmpty ? 0 : 1
                    if finished {
                        // Every row is in; the file itself is no longer needed.
                        try await connection.query(
                            "DELETE FROM csv_upload_chunks WHERE upload_id = \(upload.id)", logger: logger)
                    }
                    try await connection.query(
                        """
                        UPDATE csv_uploads SET rows_read = rows_read + \(rows.count), rows_accepted = rows_accepted + \(messages.count),
                            rows_rejected = rows_rejected + \(errors.count), batches_sent = batches_sent + \(sent),
                            next_offset = \(rows.last?.endOffset ?? expectedOffset), next_row = CASE WHEN \(rows.isEmpty) THEN next_row ELSE \((rows.last?.number ?? 0) + 1) END,
                            lease_until = now() + interval '60 seconds',
                            status = CASE WHEN NOT \(finished) THEN status
                                          WHEN batches_done >= batches_sent + \(sent) THEN 'completed' ELSE 'applying' END,
                            finished_at = CASE WHEN \(finished) AND batches_done >= batches_sent + \(sent) THEN now() ELSE finished_at END
                        WHERE id = \(upload.id)
                        """, logger: logger)
                    return true
                }
            } catch let error as ConcurrentProfileChange where attempt < 5 {
                attempt += 1
                logger.info("retrying CSV rows", metadata: ["reason": "\(error)"])
            }
        }
    }
}
