/// Why a file cannot be read as CSV at all (as opposed to one bad row).
public struct CSVFileError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One record of a CSV file: its fields and where it ends (to resume after it).
public struct CSVRecord: Sendable {
    /// 1 for the header, 2 for the first data row: the row number a spreadsheet shows.
    public var number: Int
    public var fields: [String]
    /// Byte offset just past this record's line ending.
    public var endOffset: Int64
}

/// An incremental RFC 4180 reader: bytes go in as they arrive (HTTP body, stored chunks), records
/// come out, so a file is never held in memory. Fields may be quoted (`""` is a quote) and span
/// lines; lines end with LF or CRLF; a UTF-8 BOM at the start is skipped. Every field must be valid
/// UTF-8. Library readers were not used: SwiftCSV loads the whole file and CSV.swift pulls from a
/// blocking InputStream, while uploads arrive as async chunks.
public struct CSVParser: Sendable {
    public static let maxFieldBytes = 64 * 1024
    public static let maxFields = 1_000

    private var field: [UInt8] = []
    private var fields: [String] = []
    private var inQuotes = false
    private var quoteClosed = false
    private var fieldStarted = false
    private var pendingCR = false
    private var offset: Int64
    private var atStart: Bool
    private var bomBytes = 0
    private var recordNumber: Int
    private var recordHasContent = false

    /// `startOffset`/`nextRecordNumber`: where a previous reader stopped (a record boundary).
    public init(startOffset: Int64 = 0, nextRecordNumber: Int = 1) {
        offset = startOffset
        atStart = startOffset == 0
        recordNumber = nextRecordNumber
    }

    public mutating func feed(_ bytes: some Sequence<UInt8>, _ emit: (CSVRecord) throws -> Void) throws {
        for byte in bytes {
            offset += 1
            if atStart {
                // Skip a UTF-8 byte-order mark (EF BB BF).
                let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
                if byte == bom[bomBytes] {
                    bomBytes += 1
                    if bomBytes == 3 { atStart = false }
                    continue
                }
                guard bomBytes == 0 else {
                    throw CSVFileError("the file starts with a broken byte-order mark; save it as UTF-8")
                }
                atStart = false
            }
            if byte == 0 {
                throw CSVFileError("row \(recordNumber) contains a NUL byte: this is a binary file, not CSV text")
            }
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    inQuotes = false
                    quoteClosed = true
                } else {
                    try append(byte)
                }
                continue
            }
            if pendingCR {
                pendingCR = false
                if byte == UInt8(ascii: "\n") {
                    try endRecord(emit)
                    continue
                }
                try endRecord(emit, endOffset: offset - 1)
            }
            switch byte {
            case UInt8(ascii: "\""):
                if quoteClosed {
                    // `""` inside a quoted field: a literal quote.
                    inQuotes = true
                    quoteClosed = false
                    try append(byte)
                } else if !fieldStarted {
                    inQuotes = true
                    fieldStarted = true
                    recordHasContent = true
                } else {
                    throw CSVFileError(
                        "row \(recordNumber), field \(fields.count + 1): a quote inside an unquoted field; quote the whole field and double the quote (\"\")"
                    )
                }
            case UInt8(ascii: ","):
                try endField()
            case UInt8(ascii: "\r"):
                pendingCR = true
            case UInt8(ascii: "\n"):
                try endRecord(emit)
            default:
                if quoteClosed {
                    throw CSVFileError("row \(recordNumber), field \(fields.count + 1): text after a closing quote")
                }
                try append(byte)
            }
        }
    }

    /// Ends the input: emits a last record without a line ending, or fails on an open quote.
    public mutating func finish(_ emit: (CSVRecord) throws -> Void) throws {
        if inQuotes {
            throw CSVFileError("row \(recordNumber): a quoted field is never closed (the file ends inside it)")
        }
        if pendingCR || recordHasContent || !fields.isEmpty || fieldStarted {
            pendingCR = false
            try endRecord(emit)
        }
    }

    private mutating func append(_ byte: UInt8) throws {
        fieldStarted = true
        recordHasContent = true
        field.append(byte)
        if field.count > Self.maxFieldBytes {
            throw CSVFileError(
                "row \(recordNumber), field \(fields.count + 1) is longer than \(Self.maxFieldBytes) bytes")
        }
    }

    private mutating func endField() throws {
        guard let text = String(validating: field, as: UTF8.self) else {
            throw CSVFileError(
                "row \(recordNumber), field \(fields.count + 1) is not valid UTF-8; save the file as UTF-8 (CSV UTF-8 in Excel)"
            )
        }
        fields.append(text)
        guard fields.count <= Self.maxFields else {
            throw CSVFileError("row \(recordNumber) has more than \(Self.maxFields) fields")
        }
        field.removeAll(keepingCapacity: true)
        fieldStarted = false
        quoteClosed = false
        recordHasContent = true
    }

    private mutating func endRecord(_ emit: (CSVRecord) throws -> Void, endOffset: Int64? = nil) throws {
        let end = endOffset ?? offset
        if !recordHasContent && fields.isEmpty && field.isEmpty {
            // A blank line: skipped, but it still counts as a row so numbers match the file.
            recordNumber += 1
            return
        }
        try endField()
        let record = CSVRecord(number: recordNumber, fields: fields, endOffset: end)
        fields.removeAll(keepingCapacity: true)
        recordHasContent = false
        recordNumber += 1
        try emit(record)
    }
}
