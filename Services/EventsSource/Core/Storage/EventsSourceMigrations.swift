import Persistence

/// The `events_source` schema: what has been published (dedupe), the consent version counters,
/// the profile and subscription group replicas, message analytics aggregates, and webhook
/// destinations with their delivery queue and log.
enum EventsSourceMigrations {
    static let all: [Migration] = [
        Migration(
            version: 100, name: "intake, analytics, destinations",
            statements: ProfileReplica.tableStatements + [
                """
                CREATE TABLE processed_inputs (
                    id text PRIMARY KEY,
                    processed_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX processed_inputs_age ON processed_inputs (processed_at)",
                """
                CREATE TABLE consent_versions (
                    space_id text NOT NULL,
                    channel text NOT NULL,
                    contact text NOT NULL,
                    group_id text NOT NULL,
                    version bigint NOT NULL,
                    PRIMARY KEY (space_id, channel, contact, group_id)
                )
                """,
                """
                CREATE TABLE messages (
                    space_id text NOT NULL,
                    message_id text NOT NULL,
                    channel text NOT NULL,
                    template_id text NOT NULL,
                    journey_id text NOT NULL,
                    step_id text NOT NULL,
                    broadcast_id text NOT NULL,
                    first_seen_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (space_id, message_id)
                )
                """,
                """
                CREATE TABLE message_firsts (
                    space_id text NOT NULL,
                    message_id text NOT NULL,
                    metric text NOT NULL,
                    PRIMARY KEY (space_id, message_id, metric)
                )
                """,
                """
                CREATE TABLE message_stats (
                    space_id text NOT NULL,
                    bucket timestamptz NOT NULL,
                    channel text NOT NULL,
                    template_id text NOT NULL,
                    journey_id text NOT NULL,
                    step_id text NOT NULL,
                    broadcast_id text NOT NULL,
                    metric text NOT NULL,
                    total bigint NOT NULL,
                    uniq bigint NOT NULL,
                    PRIMARY KEY (space_id, bucket, channel, template_id, journey_id, step_id, broadcast_id, metric)
                )
                """,
                """
                CREATE TABLE link_stats (
                    space_id text NOT NULL,
                    bucket timestamptz NOT NULL,
                    channel text NOT NULL,
                    template_id text NOT NULL,
                    journey_id text NOT NULL,
                    step_id text NOT NULL,
                    broadcast_id text NOT NULL,
                    url text NOT NULL,
                    total bigint NOT NULL,
                    uniq bigint NOT NULL,
                    PRIMARY KEY (space_id, bucket, channel, template_id, journey_id, step_id, broadcast_id, url)
                )
                """,
                """
                CREATE TABLE destinations (
                    id text PRIMARY KEY,
                    space_id text NOT NULL,
                    name text NOT NULL,
                    url text NOT NULL,
                    events text[] NOT NULL,
                    secret text NOT NULL,
                    status text NOT NULL,
                    paused_reason text,
                    paused_at timestamptz,
                    consecutive_failures integer NOT NULL DEFAULT 0,
                    last_success_at timestamptz,
                    last_failure_at timestamptz,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                "CREATE INDEX destinations_space ON destinations (space_id)",
                """
                CREATE TABLE deliveries (
                    id bigserial PRIMARY KEY,
                    destination_id text NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
                    event_id text NOT NULL,
                    event_name text NOT NULL,
                    lane text NOT NULL,
                    payload text NOT NULL,
                    status text NOT NULL,
                    attempts integer NOT NULL DEFAULT 0,
                    next_attempt_at timestamptz NOT NULL,
                    leased_until timestamptz,
                    last_status integer,
                    last_error text,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    delivered_at timestamptz
                )
                """,
                "CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending'",
                "CREATE INDEX deliveries_lane ON deliveries (destination_id, lane, id) WHERE status = 'pending'",
                "CREATE INDEX deliveries_log ON deliveries (destination_id, id)",
            ]),
        // Signing secrets are sealed (`DestinationSecrets`); rows from before stay in `secret` until
        // the service seals them at startup, since SQL has no key.
        Migration(
            version: 101, name: "sealed destination secrets",
            statements: [
                "ALTER TABLE destinations ADD COLUMN IF NOT EXISTS secret_sealed bytea",
                "ALTER TABLE destinations ALTER COLUMN secret DROP NOT NULL",
            ]),
        // Message events name an email group; its id comes from the subscriptions service's records.
        Migration(
            version: 102, name: "subscription group replica",
            statements: SubscriptionGroupReplica.tableStatements),
    ]
}
