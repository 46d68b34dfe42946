import Foundation

/// `engage.spaces`: a space and the SHA-256 hashes of its API access tokens, published by the
/// profiles service (which owns spaces) on every change and at startup. Every other service keeps
/// a replica, so one token works across the platform's APIs. Key: `spaceId`.
public struct SpaceAccess: Codable, Sendable, Hashable {
    public static let contract = "space-access/1"
    public var schemaVersion: Int = 1
    public var spaceId: String
    public var name: String
    public var accessTokenHashes: [String]
    /// Increases with every change; a replica keeps the highest.
    public var revision: Int64

    public init(spaceId: String, name: String, accessTokenHashes: [String], revision: Int64) {
        self.spaceId = spaceId
        self.name = name
        self.accessTokenHashes = accessTokenHashes
        self.revision = revision
    }
}
