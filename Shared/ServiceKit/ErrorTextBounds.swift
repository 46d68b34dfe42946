/// Bounds on error text sent to clients. Messages quote what the client sent (an id, a name, a
/// decoder's reason), and a 200 KB parameter must not come back 200 KB long.
enum ErrorTextBounds {
    static let maxQuoteCharacters = 100
    static let maxMessageCharacters = 500
    static let maxProblems = 20

    /// Each `"quoted"` part cut to `maxQuoteCharacters` (the words around it stay readable), the
    /// whole to `maxMessageCharacters`.
    static func message(_ text: String) -> String {
        guard text.utf8.count > maxQuoteCharacters else { return text }
        let parts = text.split(separator: "\"", omittingEmptySubsequences: false).enumerated().map { index, part in
            index.isMultiple(of: 2) ? String(part) : truncated(part, to: maxQuoteCharacters)
        }
        return truncated(parts.joined(separator: "\""), to: maxMessageCharacters)
    }

    /// At most `maxProblems` problems, each bounded like a message.
    static func problems(_ problems: [String]) -> [String] {
        let shown = problems.prefix(maxProblems).map(message)
        let hidden = problems.count - shown.count
        return hidden > 0 ? shown + ["... and \(hidden) more"] : shown
    }

    /// At most `limit` characters; cut text ends in an ellipsis.
    static func truncated(_ text: some StringProtocol, to limit: Int) -> String {
        guard text.count > limit else { return String(text) }
        return text.prefix(limit - 1) + "…"
    }
}
