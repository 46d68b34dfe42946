import Foundation
import Logging
import Persistence
import PostgresNIO
import Testing

/// `sslmode` of ENGAGE_DATABASE_URL against the test run's Postgres, which serves TLS with a
/// certificate of the run's own authority (deploy/dev/test.sh).
@Suite(.enabled(if: TestAuthorities.available, "needs ENGAGE_TEST_DATABASE_CA from deploy/dev/test.sh"))
struct DatabaseTLSTests {
    let authority = TestAuthorities.trusted ?? ""
    let otherAuthority = TestAuthorities.untrusted ?? ""

    /// The test database's URL for `host`, with these query parameters.
    private func url(host: String = "localhost", _ query: String) -> String {
        var components = URLComponents(string: TestEnvironment.databaseURL!)!
        components.host = host
        return components.string! + "?" + query
    }

    /// Whether the connection is encrypted, as Postgres sees it.
    private func encrypted(_ url: String) async throws -> Bool {
        var config = try DatabaseConfig(url: url, schema: "public", maxConnections: 1)
        config.connectTimeout = .seconds(3)
        let client = config.makeClient(logger: TestEnvironment.logger)
        return try await withThrowingTaskGroup(of: Bool?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            var ssl = false
            for try await value in try await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .decode(Bool.self)
            {
                ssl = value
            }
            return ssl
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func verifyFullConnectsOverTLSToACertificateOfTheTrustedAuthority() async throws {
        #expect(try await encrypted(url("sslmode=verify-full&sslrootcert=\(authority)")))
        #expect(try await encrypted(url(host: "127.0.0.1", "sslmode=verify-full&sslrootcert=\(authority)")))
        #expect(try await encrypted(url("sslmode=verify-ca&sslrootcert=\(authority)")))
    }

    @Test(.timeLimit(.minutes(1)))
    func verifyFullRefusesAServerItsAuthorityDidNotSign() async throws {
        let config = try DatabaseConfig(url: url("sslmode=verify-full&sslrootcert=\(otherAuthority)"), schema: "public")
        let error = await #expect(throws: (any Error).self) {
            let connection = try await config.connect(logger: TestEnvironment.logger)
            try? await connection.close()
        }
        // Refused for its certificate: not a timeout, not a password.
        #expect(
            String(reflecting: error as Any).localizedCaseInsensitiveContains("certificate"),
            "\(String(reflecting: error as Any))")
        // The same settings with the right authority connect.
        let trusted = try DatabaseConfig(url: url("sslmode=verify-full&sslrootcert=\(authority)"), schema: "public")
        try await trusted.connect(logger: TestEnvironment.logger).close()
    }

    @Test(.timeLimit(.minutes(1)))
    func requireAndPreferEncryptAndDisableDoesNot() async throws {
        #expect(try await encrypted(url("sslmode=require")))
        #expect(try await encrypted(url("sslmode=prefer")))
        #expect(try await encrypted(url("")) == true)  // prefer is the default, as with libpq
        #expect(try await encrypted(url("sslmode=disable")) == false)
    }

    @Test
    func unknownModesAndParametersAreConfigurationErrors() {
        #expect(throws: ConfigurationError.self) { try DatabaseConfig(url: url("sslmode=allow-all"), schema: "s") }
        #expect(throws: ConfigurationError.self) { try DatabaseConfig(url: url("application_name=x"), schema: "s") }
        #expect(throws: ConfigurationError.self) {
            try DatabaseConfig(url: url("sslmode=verify-full&sslrootcert=/nonexistent/ca.crt"), schema: "s")
        }
        #expect(throws: ConfigurationError.self) {
            try DatabaseConfig(url: url("sslmode=require&sslrootcert=\(authority)"), schema: "s")
        }
    }
}

/// The certificate authority that signed the test Postgres's certificate, and one that did not.
enum TestAuthorities {
    static let trusted = ProcessInfo.processInfo.environment["ENGAGE_TEST_DATABASE_CA"]
    static let untrusted = ProcessInfo.processInfo.environment["ENGAGE_TEST_DATABASE_OTHER_CA"]
    static let available = TestEnvironment.available && trusted != nil && untrusted != nil
}
