import Logging
import PostgresNIO

/// One versioned step of a schema. Statements run in order, in one transaction with the version row.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Applies a service's migrations at startup: creates its schema, skips versions already applied,
/// and serialises concurrent instances with an advisory lock so two starting replicas do not race.
public enum Migrator {
    public static func migrate(_ migrations: [Migration], schema: String, client: PostgresClient, logger: Logger)
        async throws
    {
        // The schema name is spliced into DDL, so it must be a plain lower-case identifier.
        guard let first = schema.unicodeScalars.first, first.properties.isLowercase || first == "_",
            schema.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }),
            schema.count <= 63
        else {
            throw ConfigurationError("schema name \"\(schema)\" must be a lower-case identifier (a-z, 0-9, _)")
        }
        try await client.withTransaction(logger: logger) { connection in
            // Migrations may rewrite large tables: the services' statement timeout does not apply.
            try await connection.query("SET LOCAL statement_timeout = 0", logger: logger)
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("engage-migrations:" + schema), 0))", logger: logger)
            // A service's own role may not create schemas (deploy/postgres/provision.sql creates its
            // one), and CREATE SCHEMA IF NOT EXISTS checks that right before it looks.
            var schemaExists = false
            for try await _ in try await connection.query(
                "SELECT 1 FROM pg_namespace WHERE nspname = \(schema)", logger: logger
            )
            .decode(Int.self) { schemaExists = true }
            if !schemaExists {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: logger)
            }
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS \(schema).schema_migrations (
                            version integer PRIMARY KEY,
                            name text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now()
                        )
                        """), logger: logger)
            var applied = Set<Int>()
            for try await version in try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT version FROM \(schema).schema_migrations"), logger: logger
            ).decode(Int.self) {
                applied.insert(version)
            }
            for migration in migrations.sorted(by: { $0.version < $1.version })
            where !applied.contains(migration.version) {
                logger.info(
                    "applying migration",
                    metadata: ["schema": "\(schema)", "version": "\(migration.version)", "name": "\(migration.name)"])
                try await connection.query(
                    PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(schema)"), logger: logger)
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO \(unescaped: schema).schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger)
            }
        }
    }

    /// The platform tables every service schema has: the transactional outbox and the consumer inbox.
    public static let platformTables = Migration(
        version: 1, name: "outbox and inbox",
        statements: [
            """
            CREATE TABLE outbox (
                id bigserial PRIMARY KEY,
                topic text NOT NULL,
                key text,
                payload text NOT NULL,
                headers jsonb NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE inbox (
                consumer text NOT NULL,
                message_id text NOT NULL,
                processed_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (consumer, message_id)
            )
            """,
        ])

    /// The replica of spaces and their access-token hashes (from `engage.spaces`), for API auth.
    public static let spaceAccessTable = Migration(
        version: 2, name: "space access replica",
        statements: [
            """
            CREATE TABLE space_access (
                space_id text PRIMARY KEY,
                name text NOT NULL,
                token_hashes text[] NOT NULL,
                revision bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX space_access_tokens ON space_access USING gin (token_hashes)",
        ])

    /// Outbox rows too large for any broker: set aside whole (their dead letter carries a prefix
    /// only), so that an operator can still recover them.
    public static let unpublishableOutbox = Migration(
        version: 3, name: "unpublishable outbox rows",
        statements: [
            """
            CREATE TABLE outbox_unpublishable (
                id bigint PRIMARY KEY,
                topic text NOT NULL,
                key text,
                payload text NOT NULL,
                headers jsonb NOT NULL,
                created_at timestamptz NOT NULL,
                set_aside_at timestamptz NOT NULL DEFAULT now(),
                reason text NOT NULL
            )
            """
        ])

    /// Outbox rows decided ahead of their instant (`Outbox.hold`), published from it on. Their ids
    /// come from the outbox's sequence: a row set aside as unpublishable keeps its id.
    public static let heldOutbox = Migration(
        version: 4, name: "held outbox rows",
        statements: [
            """
            CREATE TABLE outbox_held (
                id bigint PRIMARY KEY DEFAULT nextval('outbox_id_seq'),
                release_at timestamptz NOT NULL,
                topic text NOT NULL,
                key text,
                payload text NOT NULL,
                headers jsonb NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX outbox_held_due ON outbox_held (release_at, id)",
        ])

    /// Every platform migration, applied before a service's own (which start at 100).
    public static let platform = [platformTables, spaceAccessTable, unpublishableOutbox, heldOutbox]
}
