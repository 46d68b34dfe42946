import Contracts
import Foundation
import Testing

@testable import EventsSourceCore

/// The docs list exactly the event names the code emits: a name added to a mapping and not to the
/// docs (or documented and never emitted) fails here.
@Suite struct DocumentedEventNamesTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs")

    /// The backquoted names in one column of the first table under a heading.
    static func names(in file: String, under heading: String, column: Int) throws -> [String] {
        let text = try String(contentsOf: docs.appendingPathComponent(file), encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex(of: heading), "\(file) has no heading \(heading)")
        let table = lines[(start + 1)...].drop { !$0.hasPrefix("|") }.prefix { $0.hasPrefix("|") }
        var names: [String] = []
        for row in table.dropFirst(2) {
            let cells = row.split(separator: "|", omittingEmptySubsequences: false)
            guard cells.count > column + 1 else { continue }
            let cell = cells[column + 1]
            names += cell.split(separator: "`", omittingEmptySubsequences: false).enumerated()
                .filter { $0.offset % 2 == 1 }.map { String($0.element) }
        }
        return names
    }

    @Test func messagingDocumentsEveryMessageEventItEmits() throws {
        let documented = try Self.names(in: "messaging.md", under: "## Message events", column: 0)
        #expect(documented.count == Set(documented).count, "a name is listed twice")
        let emitted = MessageEventName.emitted
        #expect(Set(documented).subtracting(emitted).isEmpty, "documented but never emitted")
        #expect(emitted.subtracting(documented).isEmpty, "emitted but not documented in messaging.md")
    }

    @Test func theEventsSourceDocumentsEveryEventItPublishes() throws {
        let documented = try Self.names(in: "events-source.md", under: "## What goes in, what comes out", column: 1)
        #expect(documented.count == Set(documented).count, "a name is listed twice")
        let emitted = SourceEventMapper.emittedNames
        #expect(Set(documented).subtracting(emitted).isEmpty, "documented but never published")
        #expect(emitted.subtracting(documented).isEmpty, "published but not documented in events-source.md")
    }

    @Test func theTableReaderReadsWhatItIsGiven() throws {
        let names = try Self.names(in: "events-source.md", under: "## What goes in, what comes out", column: 1)
        #expect(names.contains("Email Subscribed") && names.contains("Journey Converted"))
        #expect(names.contains("SMS Processed"))
        #expect(!names.contains("SMS Receiving"))
    }
}
