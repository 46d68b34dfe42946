import Foundation

/// `engage.audiences`: an audience was created, renamed, got a new definition version, or was
/// deleted. Carries no definition (that stays with the audiences service); enough for other services
/// to check that an audience named by id or key exists. Key: `spaceId|audienceId` (compacted).
public struct AudienceChange: Codable, Sendable, Hashable {
    public static let contract = "audience-change/1"
    public var schemaVersion: Int = 1
    public var id: String
    public var spaceId: String
    public var audienceId: String
    /// Unique per space among live audiences; the audiences API takes it wherever it takes an id.
    public var audienceKey: String
    public var name: String
    public var currentVersion: Int
    public var deleted: Bool
    public var occurredAt: Date

    public init(
        spaceId: String, audienceId: String, audienceKey: String, name: String, currentVersion: Int, deleted: Bool,
        occurredAt: Date
    ) {
        // Stable per state, so a redelivered change is recognisable.
        self.id = "\(spaceId):\(audienceId):\(currentVersion):\(name)\(deleted ? ":deleted" : "")"
        self.spaceId = spaceId
        self.audienceId = audienceId
        self.audienceKey = audienceKey
        self.name = name
        self.currentVersion = currentVersion
        self.deleted = deleted
        self.occurredAt = occurredAt
    }

    public var key: String { "\(spaceId)|\(audienceId)" }
}
