import Contracts

/// What each column of an uploaded CSV means, worked out from its header before any row is read.
public struct CSVLayout: Sendable, Codable, Equatable {
    public enum Role: Sendable, Codable, Equatable {
        /// An identifier of the space's identity configuration (`user_id`, `email`, a custom one).
        case identifier(type: String, traitKey: String?)
        case channelStatus(SubscriptionChannel)
        case groupStatus(group: String)
        case trait(String)
    }

    public var columns: [String]
    public var roles: [Role]

    public static let statusSuffix = "_subscription_status"

    /// The identifier columns a space's rules allow, each with the trait it lands in (nil: userId/anonymousId).
    public static func identifierColumns(_ rules: [IdentifierRule]) -> [(
        column: String, type: String, traitKey: String?
    )] {
        rules.sorted { $0.priority < $1.priority }.compactMap { rule in
            switch (rule.type, rule.source) {
            case ("user_id", _), ("anonymous_id", _): return (rule.type, rule.type, nil)
            case (_, .trait(let key)): return (key, rule.type, key)
            // Read from a property key, email and phone still read their own trait.
            case ("email", _), ("phone", _): return (rule.type, rule.type, rule.type)
            default: return nil  // a property-only identifier cannot come from a profile row
            }
        }
    }

    /// Checks the header: names present and unique, at least one identifier column, status columns
    /// naming a channel or an existing group, and no near-miss of a reserved name (a typo would
    /// otherwise silently become a trait). Every problem is listed at once.
    public static func make(header: [String], rules: [IdentifierRule], groups: [String]) throws(CSVFileError)
        -> CSVLayout
    {
        var problems: [String] = []
        let identifiers = identifierColumns(rules)
        let groupByFolded = Dictionary(groups.map { (fold($0), $0) }, uniquingKeysWith: { first, _ in first })
        var seen: [String: Int] = [:]
        var roles: [Role] = []
        let columns = header.map { $0.trimmingWhitespace() }
        for (index, column) in columns.enumerated() {
            let position = "column \(index + 1)"
            let lower = column.lowercased()
            if column.isEmpty {
                problems.append("\(position) has no name")
                roles.append(.trait(""))
                continue
            }
            if let first = seen[lower] { problems.append("\(position) \"\(column)\" repeats column \(first + 1)") }
            seen[lower] = seen[lower] ?? index
            if let identifier = identifiers.first(where: { $0.column.lowercased() == lower }) {
                roles.append(.identifier(type: identifier.type, traitKey: identifier.traitKey))
            } else if lower.hasSuffix(statusSuffix) {
                let prefix = String(lower.dropLast(statusSuffix.count))
                if let channel = SubscriptionChannel.allCases.first(where: { $0.columnName == prefix }) {
                    roles.append(.channelStatus(channel))
                } else if let group = groupByFolded[fold(prefix)] {
                    roles.append(.groupStatus(group: group))
                } else {
                    let known = SubscriptionChannel.allCases.map(\.columnName) + groups
                    let hint = closest(prefix, in: known).map { " (did you mean \"\($0)\(statusSuffix)\"?)" } ?? ""
                    problems.append(
                        "\(position) \"\(column)\": \"\(prefix)\" is neither email, sms, whatsapp nor a subscription group of this space\(hint)"
                    )
                    roles.append(.trait(column))
                }
            } else {
                let reserved =
                    identifiers.map(\.column) + SubscriptionChannel.allCases.map { $0.columnName + statusSuffix }
                if let near = reserved.first(where: { isNearMiss(lower, $0) }) {
                    problems.append(
                        "\(position) \"\(column)\" looks like a misspelling of \"\(near)\"; rename it to \"\(near)\" (or choose a trait name that is not this close)"
                    )
                }
                roles.append(.trait(column))
            }
        }
        if !roles.contains(where: { if case .identifier = $0 { true } else { false } }) {
            problems.append(
                "no identifier column: add at least one of \(identifiers.map { "\"\($0.column)\"" }.joined(separator: ", "))"
            )
        }
        guard problems.isEmpty else {
            throw CSVFileError("the header is not valid: " + problems.joined(separator: "; "))
        }
        return CSVLayout(columns: columns, roles: roles)
    }

    /// The header of the downloadable template.
    public static func template(rules: [IdentifierRule], groups: [String]) -> [String] {
        identifierColumns(rules).map(\.column) + SubscriptionChannel.allCases.map { $0.columnName + statusSuffix }
            + groups.map { $0 + statusSuffix }
    }

    /// Group names match a column prefix case-insensitively, with spaces, `-` and `_` alike.
    static func fold(_ text: String) -> String {
        String(text.lowercased().map { $0 == " " || $0 == "-" ? "_" : $0 })
    }

    /// Same letters once `_`/`-`/spaces are ignored, or one edit (insert, delete, replace, swap) away.
    static func isNearMiss(_ name: String, _ reserved: String) -> Bool {
        guard name != reserved else { return false }
        let strip: (String) -> String = { String($0.filter { $0 != "_" && $0 != "-" && $0 != " " }) }
        if strip(name) == strip(reserved) { return true }
        return reserved.count >= 5 && editDistance(name, reserved) <= 1
    }

    static func closest(_ text: String, in candidates: [String]) -> String? {
        candidates.map { ($0, editDistance(fold(text), fold($0))) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    /// Optimal string alignment distance (Damerau-Levenshtein with adjacent swaps).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
