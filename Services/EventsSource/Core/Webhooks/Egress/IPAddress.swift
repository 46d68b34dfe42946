#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address, read from the text forms a URL host can take.
struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    let bytes: [UInt8]

    init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    var isIPv4: Bool { bytes.count == 4 }

    /// An address literal: IPv4 in every form `inet_aton` and so `getaddrinfo` take (`127.0.0.1`,
    /// `2130706433`, `0x7f.1`, `0177.0.0.1`), or IPv6, with or without brackets.
    init?(literal text: String) {
        if let v4 = Self.parseIPv4(text) {
            self = v4
        } else if let v6 = Self.parseIPv6(
            text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text)
        {
            self = v6
        } else {
            return nil
        }
    }

    /// The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) stands for: sockets connect
    /// to it as that IPv4 address.
    var mappedIPv4: IPAddress? {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else {
            return nil
        }
        return IPAddress(bytes: Array(bytes[12..<16]))
    }

    /// The IPv4 address inside a NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`) address: a gateway
    /// forwards traffic to it.
    var embeddedIPv4: IPAddress? {
        guard bytes.count == 16 else { return nil }
        if bytes[0..<12] == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] {
            return IPAddress(bytes: Array(bytes[12..<16]))
        }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return IPAddress(bytes: Array(bytes[2..<6])) }
        return nil
    }

    var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        guard inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `inet_aton`'s grammar: one to four parts, each decimal, octal (leading `0`) or hex (`0x`);
    /// the last part fills the bytes that are left.
    private static func parseIPv4(_ text: String) -> IPAddress? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt32] = []
        for part in parts {
            let lower = part.lowercased()
            guard !lower.isEmpty, lower.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "x") }) else { return nil }
            let value: UInt32?
            if lower.hasPrefix("0x") {
                value = lower.count > 2 ? UInt32(lower.dropFirst(2), radix: 16) : nil
            } else if lower.count > 1, lower.hasPrefix("0") {
                value = UInt32(lower.dropFirst(), radix: 8)
            } else {
                value = UInt32(lower, radix: 10)
            }
            guard let value else { return nil }
            values.append(value)
        }
        var number: UInt32 = 0
        for (index, value) in values.dropLast().enumerated() {
            guard value <= 0xff else { return nil }
            number |= value << (24 - 8 * UInt32(index))
        }
        let tailBits = 32 - 8 * (values.count - 1)
        guard tailBits == 32 || values.last! < (UInt32(1) << UInt32(tailBits)) else { return nil }
        number |= values.last!
        return IPAddress(bytes: [
            UInt8(number >> 24), UInt8((number >> 16) & 0xff), UInt8((number >> 8) & 0xff), UInt8(number & 0xff),
        ])
    }

    private static func parseIPv6(_ text: String) -> IPAddress? {
        guard text.contains(":") else { return nil }
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return IPAddress(bytes: withUnsafeBytes(of: &address) { Array($0) })
    }
}
