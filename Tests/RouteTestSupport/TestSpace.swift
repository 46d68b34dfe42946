import Contracts
import Foundation
import Persistence
import PostgresNIO
import ServiceKit

/// A space and its access token, as the profiles service would publish them on `engage.spaces`,
/// applied to the service's replica so `SpaceTokenAuth` accepts the token.
public struct TestSpace: Sendable {
    public var id: String
    public var token: String

    public var authorization: String { "Bearer \(token)" }

    /// A new space with one token, recorded through the replica's own `apply`.
    public static func seed(in db: PostgresClient) async throws -> TestSpace {
        let space = TestSpace(id: Secrets.id("spa_"), token: Secrets.token())
        try await SpaceAccessReplica(db: db, logger: TestPostgres.logger).apply([
            SpaceAccess(
                spaceId: space.id, name: "Route tests", accessTokenHashes: [Secrets.hash(space.token)], revision: 1)
        ])
        return space
    }

    /// An audience of this space in the service's `audience_catalog` replica, as `engage.audiences`
    /// would bring it.
    public func seedAudience(id: String, key: String, name: String, in db: PostgresClient) async throws {
        let change = AudienceChange(
            spaceId: self.id, audienceId: id, audienceKey: key, name: name, currentVersion: 1, deleted: false,
            occurredAt: Date())
        try await db.withConnection { connection in
            try await AudienceCatalogReplica(db: db, logger: TestPostgres.logger).apply(change, on: connection)
        }
    }
}
