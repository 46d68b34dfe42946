import Contracts
import Foundation
import Hummingbird
import Logging
import NIOCore
import Persistence
import PostgresNIO
import ServiceKit

/// An upload as the API shows it.
public struct CSVUpload: Encodable, Sendable {
    public var id: String
    public var filename: String
    /// `queued`, `processing`, `applying` (rows read, subscription commands being applied), `completed`.
    public var status: String
    public var bytes: Int64
    public var rowsTotal: Int
    public var rowsRead: Int
    public var rowsAccepted: Int
    public var rowsRejected: Int
    public var columns: [String]?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
}

/// Stores uploads: the file is checked while it streams in (header, encoding, quoting) and kept in
/// 1 MiB chunks in Postgres, so any instance can import it and a restart resumes where it stopped.
public final class CSVUploadStore: Sendable {
    public static let chunkSize = 1 << 20
    let db: PostgresClient
    let logger: Logger
    public let wakeups = Wakeups()

    public init(db: PostgresClient, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    /// Receives a file. Throws `CSVFileError` (nothing stored) when it is not a usable CSV.
    public func receive(
        spaceId: String, filename: String, body: some AsyncSequence<ByteBuffer, some Error>, maxBytes: Int64,
        rules: [IdentifierRule], groups: [String]
    ) async throws -> CSVUpload {
        let id = Secrets.id("upl_")
        let createdAt = Date()
        try await db.query(
            """
            INSERT INTO csv_uploads (id, space_id, filename, status, created_at) VALUES (\(id), \(spaceId), \(filename), 'receiving', \(createdAt))
            """, logger: logger)
        do {
            var parser = CSVParser()
            var layout: CSVLayout?
            var headerEnd: Int64 = 0
            var firstRow = 2
            var rows = 0
            var bytes: Int64 = 0
            var seq = 0
            var pending: [UInt8] = []
            pending.reserveCapacity(Self.chunkSize)
            let onRecord: (CSVRecord) throws -> Void = { record in
                if layout == nil {
                    layout = try CSVLayout.make(header: record.fields, rules: rules, groups: groups)
                    headerEnd = record.endOffset
                    firstRow = record.number + 1
                } else {
                    rows += 1
                }
            }
            for try await buffer in body {
                bytes += Int64(buffer.readableBytes)
                guard bytes <= maxBytes else { throw CSVFileError("the file is larger than \(maxBytes) bytes") }
                if bytes == Int64(buffer.readableBytes) { try Self.checkNotArchive(buffer.readableBytesView) }
                try parser.feed(buffer.readableBytesView, onRecord)
                pending.append(contentsOf: buffer.readableBytesView)
                while pending.count >= Self.chunkSize {
                    try await storeChunk(uploadId: id, seq: seq, bytes: Array(pending.prefix(Self.chunkSize)))
                    pending.removeFirst(Self.chunkSize)
                    seq += 1
                }
            }
            try parser.finish(onRecord)
            guard let layout else { throw CSVFileError("the file is empty") }
            guard rows > 0 else { throw CSVFileError("the file has a header but no rows") }
            if !pending.isEmpty { try await storeChunk(uploadId: id, seq: seq, bytes: pending) }
            let layoutJSON = try WireEncoder.string(layout)
            try await db.query(
                """
                UPDATE csv_uploads SET status = 'queued', layout = \(layoutJSON)::jsonb, bytes = \(bytes), rows_total = \(rows),
                    next_offset = \(headerEnd), next_row = \(firstRow)
                WHERE id = \(id)
                """, logger: logger)
            wakeups.wake()
            return CSVUpload(
                id: id, filename: filename, status: "queued", bytes: bytes, rowsTotal: rows, rowsRead: 0,
                rowsAccepted: 0,
                rowsRejected: 0, columns: layout.columns, createdAt: createdAt)
        } catch {
            _ = try? await db.query("DELETE FROM csv_uploads WHERE id = \(id)", logger: logger)
            throw error
        }
    }

    /// Archives and spreadsheets are common mistakes: name them instead of reporting odd bytes.
    static func checkNotArchive(_ bytes: some Collection<UInt8>) throws(CSVFileError) {
        let head = Array(bytes.prefix(4))
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            throw CSVFileError("the file is a ZIP archive (an .xlsx workbook?), not CSV; export the sheet as CSV UTF-8")
        }
        if head.starts(with: [0x1F, 0x8B]) {
            throw CSVFileError("the file is gzip-compressed; upload the uncompressed CSV")
        }
        if head.starts(with: [0xD0, 0xCF, 0x11, 0xE0]) {
            throw CSVFileError("the file is an old Excel workbook (.xls), not CSV")
        }
        if head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0xFE, 0xFF]) {
            throw CSVFileError("the file is UTF-16; save it as UTF-8 (CSV UTF-8 in Excel)")
        }
    }

    private func storeChunk(uploadId: String, seq: Int, bytes: [UInt8]) async throws {
        try await db.query(
            """
            INSERT INTO csv_upload_chunks (upload_id, seq, data) VALUES (\(uploadId), \(seq), \(ByteBuffer(bytes: bytes)))
            """, logger: logger)
    }

    /// The space's live subscription groups, from the replica the feedback consumer keeps, oldest first.
    public func groupNames(spaceId: String) async throws -> [String] {
        var names: [String] = []
        for try await name in try await db.query(
            "SELECT name FROM subscription_groups WHERE space_id = \(spaceId) AND NOT deleted ORDER BY revision, id",
            logger: logger
        ).decode(String.self) { names.append(name) }
        return names
    }

    static let columns = """
        id, filename, status, bytes, rows_total, rows_read, rows_accepted, rows_rejected, layout::text, created_at, started_at, finished_at
        """

    public func list(spaceId: String, limit: Int) async throws -> [CSVUpload] {
        try await uploads(
            try await db.query(
                """
                SELECT \(unescaped: Self.columns) FROM csv_uploads WHERE space_id = \(spaceId) AND status <> 'receiving'
                ORDER BY created_at DESC, id LIMIT \(limit)
                """, logger: logger))
    }

    public func upload(spaceId: String, id: String) async throws -> CSVUpload? {
        try await uploads(
            try await db.query(
                """
                SELECT \(unescaped: Self.columns) FROM csv_uploads WHERE space_id = \(spaceId) AND id = \(id) AND status <> 'receiving'
                """, logger: logger)
        ).first
    }

    private func uploads(_ rows: PostgresRowSequence) async throws -> [CSVUpload] {
        var result: [CSVUpload] = []
        for try await row in rows.decode(
            (String, String, String, Int64, Int, Int, Int, Int, String?, Date, Date?, Date?).self)
        {
            let layout = try row.8.map { try WireDecoder.decode(CSVLayout.self, from: $0.utf8) }
            result.append(
                CSVUpload(
                    id: row.0, filename: row.1, status: row.2, bytes: row.3, rowsTotal: row.4, rowsRead: row.5,
                    rowsAccepted: row.6, rowsRejected: row.7, columns: layout?.columns, createdAt: row.9,
                    startedAt: row.10, finishedAt: row.11))
        }
        return result
    }

    /// The error report, `row_number,error_message,error_code`, in row order, page by page.
    public func writeErrorReport(uploadId: String, to writer: inout any ResponseBodyWriter) async throws {
        try await writer.write(ByteBuffer(string: "row_number,error_message,error_code\r\n"))
        var after = (row: -1, seq: Int64(-1))
        while true {
            var page = ""
            var count = 0
            for try await (row, code, message, seq) in try await db.query(
                """
                SELECT row_number, code, message, seq FROM csv_upload_errors
                WHERE upload_id = \(uploadId) AND (row_number, seq) > (\(after.row), \(after.seq))
                ORDER BY row_number, seq LIMIT 5000
                """, logger: logger
            ).decode((Int, String, String, Int64).self) {
                page += "\(row),\(Self.csvField(message)),\(Self.csvField(code))\r\n"
                after = (row, seq)
                count += 1
            }
            if !page.isEmpty { try await writer.write(ByteBuffer(string: page)) }
            if count < 5000 { break }
        }
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
