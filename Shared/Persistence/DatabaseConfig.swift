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
    /// TLS to Postgres, as libpq's `sslmode` (and its default, `prefer`).
    public var sslMode: SSLMode = .prefer
    /// PEM file of the certificate authorities that `verify-ca` and `verify-full` trust (libpq's
    /// `sslrootcert`); the system's trust store when nil.
    public var rootCertificatePath: String?

    /// libpq's `sslmode` values that a client without a certificate of its own can honour.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS when the server offers it, without checking its certificate.
        case prefer
        /// TLS or no connection, without checking the certificate (protects against eavesdropping only).
        case require
        /// TLS with a certificate signed by a trusted authority, for any host name.
        case verifyCA = "verify-ca"
        /// TLS with a trusted certificate issued for the host connected to.
        case verifyFull = "verify-full"
    }

    /// `postgres://user:password@host:port/database?sslmode=verify-full&sslrootcert=/path/ca.pem`
    public init(url: String, schema: String, maxConnections: Int = 10) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql", let host = components.host
        else {
            throw ConfigurationError("invalid Postgres URL (want postgres://user:password@host:port/database)")
        }
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw ConfigurationError(
                        "sslmode \"\(item.value ?? "")\" in the Postgres URL is not one of "
                            + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
                }
                sslMode = mode
            case "sslrootcert":
                guard let path = item.value, FileManager.default.isReadableFile(atPath: path) else {
                    throw ConfigurationError(
                        "sslrootcert \"\(item.value ?? "")\" in the Postgres URL is not a readable file")
                }
                rootCertificatePath = path
            default:
                throw ConfigurationError(
                    "the Postgres URL parameter \"\(item.name)\" is not supported (sslmode and sslrootcert are)")
            }
        }
        if rootCertificatePath != nil && sslMode != .verifyCA && sslMode != .verifyFull {
            throw ConfigurationError("sslrootcert in the Postgres URL needs sslmode=verify-ca or verify-full")
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
            host: host, port: port, username: username, password: password, database: database, tls: tls)
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

extension DatabaseConfig {
    /// One connection with these settings, outside any pool: for checks that want the connection's
    /// own error (a refused certificate, a wrong password) rather than a pool that keeps retrying.
    public func connect(logger: Logger) async throws -> PostgresConnection {
        let connectionTLS: PostgresConnection.Configuration.TLS
        switch tlsSettings {
        case nil: connectionTLS = .disable
        case (let settings, required: false)?: connectionTLS = .prefer(try NIOSSLContext(configuration: settings))
        case (let settings, required: true)?: connectionTLS = .require(try NIOSSLContext(configuration: settings))
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: connectionTLS)
        configuration.options.connectTimeout = .nanoseconds(Int64(connectTimeout / .nanoseconds(1)))
        return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
    }

    var tls: PostgresClient.Configuration.TLS {
        switch tlsSettings {
        case nil: .disable
        case (let settings, required: false)?: .prefer(settings)
        case (let settings, required: true)?: .require(settings)
        }
    }

    /// What `sslMode` asks of TLS: nil for none, else the settings and whether TLS is a must.
    private var tlsSettings: (TLSConfiguration, required: Bool)? {
        var settings = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable:
            return nil
        case .prefer, .require:
            settings.certificateVerification = .none
            return (settings, required: sslMode == .require)
        case .verifyCA, .verifyFull:
            settings.certificateVerification = sslMode == .verifyCA ? .noHostnameVerification : .fullVerification
            if let rootCertificatePath { settings.trustRoots = .file(rootCertificatePath) }
            return (settings, required: true)
        }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
