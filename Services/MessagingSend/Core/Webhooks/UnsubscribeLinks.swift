import Contracts
import Crypto
import Foundation
import ServiceKit

/// What an unsubscribe link stands for. The token alone identifies recipient and list (RFC 8058:
/// the one-click POST carries no cookies or auth), so it is signed and cannot be forged or edited.
public struct UnsubscribeTarget: Codable, Sendable, Hashable {
    public var spaceId: String
    public var channel: SubscriptionChannel
    public var contact: String
    /// The email group the message was sent for; nil: the channel as a whole.
    public var group: String?
    public var messageId: String?
    public var profileId: String?
}

public struct UnsubscribeLinks: Sendable {
    let box: SecretBox
    /// Where people and mailbox providers reach this service, e.g. `https://engage.example.com`.
    let publicURL: String

    public init(box: SecretBox, publicURL: String) {
        self.box = box
        self.publicURL = publicURL
    }

    public func token(for target: UnsubscribeTarget) -> String {
        var writer = JSONWriter(capacity: 200)
        writer.object { members in
            members.member("s", target.spaceId)
            members.member("c", target.channel.rawValue)
            members.member("a", target.contact)
            members.member("g", target.group)
            members.member("m", target.messageId)
            members.member("p", target.profileId)
        }
        let payload = Data(writer.bytes).base64URLEncoded
        return payload + "." + signature(payload)
    }

    public func unsubscribeURL(for target: UnsubscribeTarget) -> String { "\(publicURL)/u/\(token(for: target))" }
    /// The same signed token, showing every channel.
    public static func preferencesURL(unsubscribeURL: String) -> String { unsubscribeURL + "?manage=1" }

    public func target(from token: String) -> UnsubscribeTarget? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let expected = Data(base64URL: String(parts[1])),
            let actual = Data(base64URL: signature(String(parts[0]))),
            SignatureChecks.constantTimeEqual(expected, actual),
            let payload = Data(base64URL: String(parts[0])),
            case .object(let members)? = try? JSONParser.parse(Array(payload)),
            case .string(let spaceId)? = members["s"], case .string(let channelText)? = members["c"],
            let channel = SubscriptionChannel(rawValue: channelText), case .string(let contact)? = members["a"]
        else { return nil }
        func text(_ key: String) -> String? { if case .string(let value)? = members[key] { value } else { nil } }
        return UnsubscribeTarget(
            spaceId: spaceId, channel: channel, contact: contact, group: text("g"), messageId: text("m"),
            profileId: text("p"))
    }

    private func signature(_ payload: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: box.linkKey)
        return Data(Data(mac).prefix(18)).base64URLEncoded
    }
}
