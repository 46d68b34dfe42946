import Foundation
import Logging
import PostgresNIO

/// Where a service's Postgres is, and which schema it owns. Built from a `postgres://` URL.
public struct DatabaseConfig: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// The service's own schema: every connection's search_path, so SQL names tables unqualified.
    public var schema: String
    public var maxConnections: Int
    /// Server-side bounds, so that no statement or forgotten transaction holds a connection forever.
    public var statementTimeoutMs: Int = 30_000
    public var idleInTransactionTimeoutMs: Int = 60_000
    /// How long opening a connection may take.
    public var connectTimeout: Duration = .seconds(5)

    public init(url: String, schema: String, maxConnections: Int = 10) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql", let host = components.host
        else {
            throw ConfigurationError("invalid Postgres URL (want postgres://user:password@host:port/database)")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user ?? "postgres"
        self.password = components.password
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.database = path.isEmpty ? "postgres" : path
        self.schema = schema
        self.maxConnections = maxConnections
    }

    public func makeClient(logger: Logger) -> PostgresClient {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable)
        configuration.options.additionalStartupParameters = [
            ("search_path", schema),
            ("statement_timeout", String(statementTimeoutMs)),
            ("idle_in_transaction_session_timeout", String(idleInTransactionTimeoutMs)),
        ]
        configuration.options.connectTimeout = connectTimeout
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = 1
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }
}

public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
