import Foundation
import Testing

/// docs/configuration.md is the one table of variables: it names exactly the `ENGAGE_` variables the
/// services read (a name in a string literal of Services/ or Shared/), no more, no fewer.
struct ConfigurationTableTests {
    private static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private func names(in text: Substring, between quote: String) throws -> Set<String> {
        let pattern = try Regex("\(quote)(ENGAGE_[A-Z0-9_]+)\(quote)", as: (Substring, Substring).self)
        return Set(text.matches(of: pattern).map { String($0.output.1) })
    }

    /// The names in the first column of the table.
    private func documented() throws -> Set<String> {
        let docs = try String(
            contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        var names: Set<String> = []
        for line in docs.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: true)
            names.formUnion(try self.names(in: cells[0], between: "`"))
        }
        return names
    }

    private func read() throws -> Set<String> {
        var names: Set<String> = []
        for folder in ["Services", "Shared"] {
            let files = FileManager.default.enumerator(
                at: Self.root.appendingPathComponent(folder), includingPropertiesForKeys: nil)
            for case let file as URL in files?.allObjects ?? [] where file.pathExtension == "swift" {
                let source = try String(contentsOf: file, encoding: .utf8)
                names.formUnion(try self.names(in: source[...], between: "\""))
            }
        }
        return names
    }

    @Test
    func theTableNamesExactlyTheVariablesTheServicesRead() throws {
        let documented = try documented()
        let read = try read()
        #expect(documented.count > 50)
        #expect(read.subtracting(documented).sorted() == [], "read but not in docs/configuration.md")
        #expect(documented.subtracting(read).sorted() == [], "in docs/configuration.md but never read")
    }
}
