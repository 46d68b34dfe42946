import Hummingbird
import Persistence
import PostgresNIO
import RouteTestSupport
import ServiceKit

@testable import JourneysCore

/// journeys' routes exactly as `JourneysService.run` wires them (`JourneysRoutes` on
/// `ServiceHost.apiRouter()`), over a fresh schema with the service's migrations. No broker: the
/// routes only write Postgres (the outbox relay publishes later).
enum JourneysRouteTest {
    static func run(_ body: @escaping @Sendable (RouteTest) async throws -> Void) async throws {
        try await RouteTest.run(migrations: JourneysMigrations.all, routes: router, body)
    }

    static func router(db: PostgresClient) -> Router<BasicRequestContext> {
        let logger = TestPostgres.logger
        let catalog = JourneyCatalog(logger: logger)
        let profiles = ProfileReplica(db: db, keepsTraits: true, lockName: JourneysService.schema, logger: logger)
        let router = ServiceHost.apiRouter()
        JourneysRoutes(
            spaces: SpaceAccessReplica(db: db, logger: logger),
            journeys: JourneyStore(
                db: db, catalog: catalog, profiles: profiles, clock: SystemClock(), onChange: {}, logger: logger),
            reader: JourneyReader(db: db, catalog: catalog, logger: logger),
            audiences: AudienceCatalogReplica(db: db, logger: logger),
            broadcasts: BroadcastStore(db: db, clock: SystemClock(), onChange: {}, logger: logger)
        ).register(on: router)
        return router
    }
}

extension RouteTest {
    /// A template as journeys' replica of `engage.templates` knows it.
    func seedTemplate(_ id: String, channel: String, versions: Int = 1) async throws {
        try await db.query(
            """
            INSERT INTO templates (space_id, template_id, name, channel, purpose, current_version, deleted)
            VALUES (\(space.id), \(id), \(id), \(channel), 'marketing', \(versions), false)
            """, logger: TestPostgres.logger)
    }

    /// Profiles in an audience, as journeys' replica of `engage.audience-membership` knows them.
    func seedMembers(_ audienceId: String, _ profileIds: [String]) async throws {
        for profileId in profileIds {
            try await db.query(
                """
                INSERT INTO audience_members (space_id, audience_id, profile_id)
                VALUES (\(space.id), \(audienceId), \(profileId))
                """, logger: TestPostgres.logger)
        }
    }
}
