/// How a contact is addressed: email channels by address, SMS and WhatsApp by phone number.
public enum ContactKind: String, Sendable {
    case email
    case phone
}

/// Why a contact was refused, in words a person can act on.
public struct InvalidContact: Error, Sendable, Equatable, CustomStringConvertible {
    public var kind: ContactKind
    public var reason: String
    public var description: String { reason }
}

/// The one normalisation of email addresses and phone numbers, used wherever a contact is stored
/// or looked up (subscriptions, CSV uploads, identity), so the same person always has one key.
public enum ContactNormalizer {
    public static func normalize(_ raw: String, as kind: ContactKind) throws(InvalidContact) -> String {
        switch kind {
        case .email: try email(raw)
        case .phone: try phone(raw)
        }
    }

    /// Trimmed and lower-cased, then checked: one `@`, a local part of 1-64 characters without
    /// spaces or control characters, a domain of dot-separated labels (letters, digits, hyphens,
    /// not at a label's ends; international labels as UTF-8 letters) with at least one dot.
    public static func email(_ raw: String) throws(InvalidContact) -> String {
        let value = raw.trimmingWhitespace().lowercased()
        func invalid(_ reason: String) -> InvalidContact {
            InvalidContact(kind: .email, reason: "\"\(raw)\" is not a valid email address: \(reason)")
        }
        guard !value.isEmpty else { throw invalid("it is empty") }
        guard value.utf8.count <= 254 else { throw invalid("it is longer than 254 characters") }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw invalid(parts.count == 1 ? "it has no @" : "it has more than one @") }
        let local = parts[0]
        let domain = parts[1]
        guard !local.isEmpty, local.utf8.count <= 64 else {
            throw invalid("the part before @ must have 1 to 64 characters")
        }
        guard !local.hasPrefix("."), !local.hasSuffix("."), !local.contains("..") else {
            throw invalid("dots in the part before @ must separate characters")
        }
        for scalar in local.unicodeScalars
        where scalar.value <= 0x20 || scalar.value == 0x7F || "()<>[]\\,;:\"".unicodeScalars.contains(scalar) {
            throw invalid("the part before @ contains \(scalar == " " ? "a space" : "\"\(Character(scalar))\"")")
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { throw invalid("the domain has no dot") }
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63 else {
                throw invalid("the domain has an empty or over-long label")
            }
            guard !label.hasPrefix("-"), !label.hasSuffix("-") else {
                throw invalid("a domain label starts or ends with a hyphen")
            }
            for scalar in label.unicodeScalars {
                let ok =
                    (scalar.value >= 0x61 && scalar.value <= 0x7A) || (scalar.value >= 0x30 && scalar.value <= 0x39)
                    || scalar == "-" || (scalar.value > 0x7F && scalar.properties.isAlphabetic)
                guard ok else { throw invalid("the domain contains \"\(Character(scalar))\"") }
            }
        }
        guard labels.last!.unicodeScalars.contains(where: { !($0.value >= 0x30 && $0.value <= 0x39) }) else {
            throw invalid("the top-level domain is numeric")
        }
        return value
    }

    /// E.164: `+` and 8 to 15 digits, the first not 0. Accepts the usual ways of writing one:
    /// spaces, dots, hyphens, parentheses and a `whatsapp:` / `tel:` prefix are removed, and a
    /// leading `00` (international call prefix) becomes `+`. A number without `+` or `00` is refused:
    /// it has no country, and guessing one sends messages to the wrong person.
    public static func phone(_ raw: String) throws(InvalidContact) -> String {
        func invalid(_ reason: String) -> InvalidContact {
            InvalidContact(kind: .phone, reason: "\"\(raw)\" is not a valid phone number: \(reason)")
        }
        var text = Substring(raw.trimmingWhitespace().lowercased())
        for prefix in ["whatsapp:", "tel:"] where text.hasPrefix(prefix) { text = text.dropFirst(prefix.count) }
        guard !text.isEmpty else { throw invalid("it is empty") }
        var digits = ""
        var plus = false
        for (index, character) in text.enumerated() {
            switch character {
            case "+" where index == 0: plus = true
            case "0"..."9": digits.append(character)
            case " ", ".", "-", "(", ")", "/": continue
            default: throw invalid("\"\(character)\" is not part of a phone number")
            }
        }
        if !plus {
            guard digits.hasPrefix("00") else {
                throw invalid("it needs an international prefix (+ and the country code)")
            }
            digits.removeFirst(2)
        }
        guard let first = digits.first, first != "0" else { throw invalid("a country code never starts with 0") }
        guard digits.count >= 8 else { throw invalid("it has \(digits.count) digits; E.164 numbers have 8 to 15") }
        guard digits.count <= 15 else { throw invalid("it has \(digits.count) digits; E.164 numbers have at most 15") }
        return "+" + digits
    }
}

extension String {
    /// Trims ASCII and Unicode whitespace (including a BOM and non-breaking spaces) at both ends.
    public func trimmingWhitespace() -> String {
        // Fast path: nothing to trim when both ends are printable ASCII (the usual case).
        if let first = utf8.first, let last = utf8.last, first > 0x20, first < 0x7F, last > 0x20, last < 0x7F {
            return self
        }
        let isSpace: (Character) -> Bool = { $0.isWhitespace || $0 == "\u{FEFF}" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
