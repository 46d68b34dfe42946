import Foundation
import Logging
import Persistence
import PostgresNIO
import Testing

/// deploy/postgres/provision.sql gives each service a role that owns its schema and nothing else:
/// a service's connection cannot read or change another service's tables.
@Suite(.serialized, .enabled(if: TestEnvironment.available, "needs ENGAGE_TEST_* from deploy/dev/test.sh"))
struct LeastPrivilegeTests {
    static let provisionScript = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/postgres/provision.sql").path

    struct Service {
        let schema: String
        let role: String
        let password = UUID().uuidString
    }

    /// Runs provision.sql as the superuser of the test database, as an administrator would.
    private func provision(_ service: Service) throws {
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        psql.arguments = [
            "psql", TestEnvironment.databaseURL!, "-q", "-X", "-v", "role=\(service.role)", "-v",
            "schema=\(service.schema)",
            "-f", Self.provisionScript,
        ]
        psql.environment = ProcessInfo.processInfo.environment.merging(["ENGAGE_DB_ROLE_PASSWORD": service.password]) {
            _, new in new
        }
        let errors = Pipe()
        psql.standardError = errors
        psql.standardOutput = FileHandle.nullDevice
        try psql.run()
        psql.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(psql.terminationStatus == 0, "provision.sql failed: \(message)")
    }

    /// A client that connects as the service's own role.
    private func connect<T: Sendable>(as service: Service, _ body: @Sendable (PostgresClient) async throws -> T)
        async throws -> T
    {
        var components = URLComponents(string: TestEnvironment.databaseURL!)!
        components.user = service.role
        components.password = service.password
        let client = try DatabaseConfig(url: components.string!, schema: service.schema, maxConnections: 2)
            .makeClient(logger: TestEnvironment.logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    private func sqlState(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as PSQLError {
            return error.serverInfo?[.sqlState]
        } catch {
            return "\(error)"
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aServiceRoleOwnsItsSchemaAndCannotTouchAnotherServices() async throws {
        let suffix = TestEnvironment.uniqueName("")
        let owner = Service(schema: "lp_a_\(suffix)", role: "engage_lp_a_\(suffix)")
        let other = Service(schema: "lp_b_\(suffix)", role: "engage_lp_b_\(suffix)")
        try provision(owner)
        try provision(other)
        try provision(owner)  // idempotent: a second run (a password rotation) changes nothing else
        defer { try? dropRoles([owner, other]) }

        // Each migrates its own schema as itself, as a service does at startup.
        for service in [owner, other] {
            try await connect(as: service) { client in
                try await Migrator.migrate(
                    Migrator.platform, schema: service.schema, client: client, logger: TestEnvironment.logger)
                try await client.query("INSERT INTO outbox (topic, payload) VALUES ('t', '{}')")
            }
        }
        let denied = "42501"  // insufficient_privilege
        try await connect(as: other) { client in
            #expect(
                await sqlState { try await client.query("SELECT count(*) FROM \(unescaped: owner.schema).outbox") }
                    == denied)
            #expect(
                await sqlState { try await client.query("DELETE FROM \(unescaped: owner.schema).outbox") } == denied)
            #expect(
                await sqlState { try await client.query("CREATE TABLE \(unescaped: owner.schema).intruder (id int)") }
                    == denied)
            #expect(await sqlState { try await client.query("CREATE SCHEMA lp_rogue_\(unescaped: suffix)") } == denied)
            #expect(
                await sqlState { try await client.query("CREATE TABLE public.intruder_\(unescaped: suffix) (id int)") }
                    == denied)
            #expect(await sqlState { try await client.query("CREATE TEMPORARY TABLE scratch (id int)") } == denied)
            // Its own tables work.
            #expect(await sqlState { try await client.query("SELECT count(*) FROM outbox") } == nil)
        }
    }

    private func dropRoles(_ services: [Service]) throws {
        // DROP OWNED first: the role's CONNECT grant on the database would keep DROP ROLE from working.
        let statements = services.map {
            "DROP SCHEMA IF EXISTS \($0.schema) CASCADE; DROP OWNED BY \($0.role); DROP ROLE IF EXISTS \($0.role);"
        }.joined(separator: " ")
        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        psql.arguments = ["psql", TestEnvironment.databaseURL!, "-q", "-X", "-c", statements]
        psql.standardOutput = FileHandle.nullDevice
        try psql.run()
        psql.waitUntilExit()
    }
}
