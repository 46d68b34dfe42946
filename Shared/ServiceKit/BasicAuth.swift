import Foundation
import Hummingbird

/// Segment's APIs take their key (write key, access token) as the Basic-auth username with an
/// empty password; clients send it with or without the colon.
public enum BasicAuth {
    public static func username(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces))
        else { return nil }
        let user =
            String(decoding: decoded, as: UTF8.self).split(
                separator: ":", maxSplits: 1, omittingEmptySubsequences: false
            ).first ?? ""
        return user.isEmpty ? nil : String(user)
    }
}
