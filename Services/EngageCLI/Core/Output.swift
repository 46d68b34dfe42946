import Contracts
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Human output by default (aligned tables, short lines), JSON for scripts with `--json`.
/// Results go to standard output, progress and problems to standard error.
public enum Terminal {
    public static func out(_ text: String) { write(text + "\n", to: STDOUT_FILENO) }

    public static func err(_ text: String) { write(text + "\n", to: STDERR_FILENO) }

    /// Unbuffered, whole lines. A closed pipe (`engage ... | head`) ends the process as SIGPIPE
    /// would, quietly.
    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE {
                    signal(SIGPIPE, SIG_DFL)
                    raise(SIGPIPE)
                }
                return
            }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Rewrites the current standard-error line (a progress bar); only when it is a terminal.
    public static func progress(_ text: String) {
        guard isatty(STDERR_FILENO) != 0 else { return }
        write("\r\u{1B}[K" + text, to: STDERR_FILENO)
    }

    public static func endProgress() {
        guard isatty(STDERR_FILENO) != 0 else { return }
        write("\r\u{1B}[K", to: STDERR_FILENO)
    }

    /// `[#####.....]  50 %`
    public static func bar(done: Int, total: Int, width: Int = 30) -> String {
        guard total > 0 else { return "[" + String(repeating: ".", count: width) + "]" }
        let share = min(1, Double(done) / Double(total))
        let filled = Int((share * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + String(format: "%3d %%", Int((share * 100).rounded(.down)))
    }
}

/// Rows under headers, each column as wide as its widest cell.
public struct Table {
    public var headers: [String]
    public var rows: [[String]] = []

    public init(_ headers: String...) { self.headers = headers }

    public mutating func add(_ cells: String...) { rows.append(cells) }
    public mutating func add(_ cells: [String]) { rows.append(cells) }

    public var text: String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let last = index == cells.count - 1
                parts.append(last ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0))
            }
            return parts.joined(separator: "  ")
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

extension JSONValue {
    /// Pretty, with sorted keys: the form of exported files and of `--json` output.
    public var prettyText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("null".utf8), as: UTF8.self)
    }

    /// A scalar as a table cell: strings bare, others as JSON, absent as "-".
    public var cell: String {
        switch self {
        case .null: "-"
        case .string(let text): text
        case .bool(let flag): flag ? "yes" : "no"
        case .number, .largeInteger: compactText
        case .array, .object: compactText
        }
    }

    public var compactText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("null".utf8), as: UTF8.self)
    }

    public static func parse(_ data: Data) throws(JSONParseError) -> JSONValue {
        try JSONParser.parse([UInt8](data))
    }
}

extension Optional where Wrapped == JSONValue {
    public var cell: String { self?.cell ?? "-" }
}
