import Crypto
import Foundation

/// Deterministic ids: the same entry, step or event always gets the same id, so a redelivered
/// record or a re-run after a crash produces nothing new downstream (message requests are
/// idempotent on their id, journey events are deduplicated on theirs).
public enum ExecutionIds {
    /// One pass of a profile through a journey, named by what triggered it.
    public static func instance(spaceId: String, journeyId: String, profileId: String, trigger: String) -> String {
        "ji_" + hex(spaceId, journeyId, profileId, trigger)
    }

    /// One execution of one step on one path of an instance, in one journey version.
    public static func stepExecution(instanceId: String, pathId: String, version: Int, stepId: String) -> String {
        "\(instanceId)/\(pathId)/v\(version)/\(stepId)"
    }

    /// The message request a send step makes: its idempotency key.
    public static func message(stepExecution: String) -> String { "jm_" + hex(stepExecution) }

    /// A broadcast's message to one profile.
    public static func broadcastMessage(spaceId: String, broadcastId: String, profileId: String) -> String {
        "bm_" + hex(spaceId, broadcastId, profileId)
    }

    public static func event(_ name: String, scope: String) -> String { "je_" + hex(scope, name) }

    /// A profile's fixed place in a random split, in [0, 100): the same profile always takes the
    /// same branch of the same step, and different steps split independently.
    public static func bucket(journeyId: String, stepId: String, profileId: String) -> Double {
        let digest = SHA256.hash(data: Data("\(journeyId)|\(stepId)|\(profileId)".utf8))
        let value = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Double(value % 1_000_000) / 10_000
    }

    private static let digits = Array("0123456789abcdef".utf8)

    /// The first 16 bytes of the SHA-256 of the parts, in hex (String(format:) per byte is too slow
    /// for the thousands of ids a timer batch makes).
    static func hex(_ parts: String...) -> String {
        let digest = SHA256.hash(data: Data(parts.joined(separator: "|").utf8))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for byte in digest.prefix(16) {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
