/// Text the platform can store. Postgres refuses U+0000 in `text` and `jsonb` (SQLSTATE 22021), and
/// text must be valid UTF-8; every boundary (HTTP bodies, paths and query strings, topic records)
/// refuses such input with a clear reason instead of failing later in a query.
public enum StorableText {
    /// Why a JSON document cannot be stored: a `\u0000` escape in one of its strings, or a raw NUL.
    /// A scan for the escape, much cheaper than a parse; `JSONParser` refuses the same input.
    public static func problem(inJSON bytes: some Collection<UInt8>) -> String? {
        var offset = 0
        var escaped = false
        var matched = 0  // characters of `u0000` matched after a backslash
        for byte in bytes {
            defer { offset += 1 }
            if byte == 0 { return "NUL (0x00) is not allowed: it cannot be stored (byte \(offset))" }
            if matched > 0 {
                if byte == nulEscape[matched] {
                    matched += 1
                    if matched == nulEscape.count {
                        return "NUL (\\u0000) is not allowed in strings: it cannot be stored (byte \(offset - 5))"
                    }
                    continue
                }
                matched = 0
            }
            if escaped {
                escaped = false
                if byte == UInt8(ascii: "u") { matched = 1 }
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            }
        }
        return nil
    }

    private static let nulEscape: [UInt8] = Array("u0000".utf8)

    /// Why a percent-encoded path or query string cannot be stored: an encoded NUL (`%00`) or bytes
    /// that are not UTF-8 once decoded.
    public static func problem(inPercentEncoded text: Substring) -> String? {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return nil }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(text.utf8.count)
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "%") else {
                decoded.append(byte)
                continue
            }
            guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else {
                return "invalid percent-encoding"
            }
            decoded.append(high << 4 | low)
        }
        if decoded.contains(0) { return "NUL (%00) is not allowed: it cannot be stored" }
        if String(validating: decoded, as: UTF8.self) == nil { return "percent-encoded bytes are not valid UTF-8" }
        return nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
