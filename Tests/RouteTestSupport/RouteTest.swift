import Hummingbird
import HummingbirdTesting
import Persistence
import PostgresNIO

/// One in-process test of a service's routes: a freshly migrated schema, a space whose token the
/// service accepts, and a client that calls the router with that token.
public struct RouteTest: Sendable {
    public var db: PostgresClient
    public var space: TestSpace
    public var api: APIClient

    /// Builds the router with `routes` (the service's own wiring) on a new schema and runs `body`
    /// against it through `app.test(.router)`: no sockets, no other process.
    public static func run(
        migrations: [Migration],
        routes: @escaping @Sendable (PostgresClient) async throws -> Router<BasicRequestContext>,
        _ body: @escaping @Sendable (RouteTest) async throws -> Void
    ) async throws {
        try await TestPostgres.withMigratedSchema(migrations) { db in
            let space = try await TestSpace.seed(in: db)
            let app = Application(router: try await routes(db), logger: TestPostgres.logger)
            try await app.test(.router) { client in
                try await body(
                    RouteTest(db: db, space: space, api: APIClient(client, authorization: space.authorization)))
            }
        }
    }
}
