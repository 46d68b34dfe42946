import Persistence

/// The messaging-send schema: templates with immutable versions, provider settings (secrets sealed
/// with the service's key), replicas of profiles and subscription states, and one row per message
/// whose `state` is the at-most-once guarantee: a provider call only ever starts from `sending`,
/// and a `sending` row whose worker vanished becomes `unknown`, never `pending` again.
public enum MessagingMigrations {
    public static let all: [Migration] = [
        Migration(
            version: 100, name: "templates, providers, replicas, messages",
            statements: [
                """
                CREATE TABLE templates (
                    space_id text NOT NULL,
                    id text NOT NULL,
                    channel text NOT NULL,
                    name text NOT NULL,
                    purpose text NOT NULL,
                    current_version int NOT NULL,
                    created_at timestamptz NOT NULL,
                    updated_at timestamptz NOT NULL,
                    deleted_at timestamptz,
                    PRIMARY KEY (space_id, id)
                )
                """,
                "CREATE UNIQUE INDEX templates_live_name ON templates (space_id, channel, lower(name)) WHERE deleted_at IS NULL",
                """
                CREATE TABLE template_versions (
                    space_id text NOT NULL,
                    template_id text NOT NULL,
                    version int NOT NULL,
                    content jsonb NOT NULL,
                    created_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, template_id, version)
                )
                """,
                """
                CREATE TABLE providers (
                    space_id text NOT NULL,
                    provider text NOT NULL,
                    settings jsonb NOT NULL,
                    sealed_secrets bytea NOT NULL,
                    updated_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, provider)
                )
                """,
                """
                CREATE TABLE profiles (
                    space_id text NOT NULL,
                    profile_id text NOT NULL,
                    traits jsonb NOT NULL DEFAULT '{}',
                    email text,
                    phone text,
                    user_id text,
                    merged_into text,
                    updated_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, profile_id)
                )
                """,
                "CREATE INDEX profiles_phone ON profiles (space_id, phone) WHERE phone IS NOT NULL",
                """
                CREATE TABLE subscription_states (
                    space_id text NOT NULL,
                    channel text NOT NULL,
                    contact text NOT NULL,
                    group_name text NOT NULL DEFAULT '',
                    status text NOT NULL,
                    recorded_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, channel, contact, group_name)
                )
                """,
                """
                CREATE TABLE messages (
                    space_id text NOT NULL,
                    id text NOT NULL,
                    profile_id text NOT NULL,
                    channel text NOT NULL,
                    template_id text NOT NULL,
                    template_version int,
                    purpose text NOT NULL,
                    group_name text,
                    journey_id text,
                    journey_step_id text,
                    broadcast_id text,
                    test boolean NOT NULL DEFAULT false,
                    requested_at timestamptz NOT NULL,
                    -- pending -> preparing -> sending -> sent | failed | unknown; pending -> skipped
                    state text NOT NULL,
                    attempts int NOT NULL DEFAULT 0,
                    next_attempt_at timestamptz NOT NULL,
                    lease_until timestamptz,
                    provider text,
                    sender text,
                    recipient text,
                    provider_message_id text,
                    -- the last status a provider reported (delivered, bounce, read...)
                    delivery_status text,
                    reason text,
                    error_code text,
                    error_message text,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (space_id, id)
                )
                """,
                "CREATE INDEX messages_due ON messages (next_attempt_at) WHERE state = 'pending'",
                "CREATE INDEX messages_leased ON messages (lease_until) WHERE state IN ('preparing', 'sending')",
                "CREATE INDEX messages_provider_id ON messages (provider_message_id) WHERE provider_message_id IS NOT NULL",
                "CREATE INDEX messages_profile ON messages (space_id, profile_id, created_at)",
                """
                CREATE TABLE provider_events (
                    space_id text NOT NULL,
                    event_id text NOT NULL,
                    received_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (space_id, event_id)
                )
                """,
            ]),
        Migration(
            version: 101, name: "profile replica: anonymous id, email lookups",
            statements: [
                "ALTER TABLE profiles ADD COLUMN anonymous_id text",
                "CREATE INDEX profiles_email ON profiles (space_id, email) WHERE email IS NOT NULL",
            ]),
        Migration(
            version: 102, name: "send policies, frequency ledger, templates announced",
            statements: [
                """
                CREATE TABLE send_policies (
                    space_id text PRIMARY KEY,
                    policy jsonb NOT NULL,
                    updated_at timestamptz NOT NULL
                )
                """,
                """
                CREATE TABLE frequency_ledger (
                    space_id text NOT NULL,
                    message_id text NOT NULL,
                    profile_id text NOT NULL,
                    counted_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, message_id)
                )
                """,
                "CREATE INDEX frequency_ledger_profile ON frequency_ledger (space_id, profile_id, counted_at)",
                "CREATE INDEX frequency_ledger_age ON frequency_ledger (counted_at)",
                // Templates written before engage.templates existed are announced once, so other
                // services learn them too.
                """
                INSERT INTO outbox (topic, key, payload, headers)
                SELECT 'engage.templates', space_id || '|' || id,
                    jsonb_build_object('schemaVersion', 1, 'id', space_id || ':' || id || ':' || current_version
                                           || CASE WHEN deleted_at IS NULL THEN '' ELSE ':deleted' END,
                                       'spaceId', space_id, 'templateId', id, 'name', name, 'channel', channel, 'purpose', purpose,
                                       'currentVersion', current_version, 'deleted', deleted_at IS NOT NULL,
                                       'occurredAt', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text,
                    '{"contract": "template-change/1"}'::jsonb
                FROM templates ORDER BY created_at
                """,
            ]),
        Migration(
            version: 103, name: "senders, messaging destinations, audience replicas, message listing",
            statements: [
                """
                ALTER TABLE messages ADD COLUMN requested_sender text, ADD COLUMN content jsonb, ADD COLUMN destination_id text,
                    ADD COLUMN action_id text
                """,
                "CREATE INDEX messages_listing ON messages (space_id, requested_at DESC, id DESC)",
                """
                CREATE TABLE messaging_destinations (
                    space_id text NOT NULL,
                    id text NOT NULL,
                    name text NOT NULL,
                    audience_id text NOT NULL,
                    enabled boolean NOT NULL,
                    send_to_existing_members boolean NOT NULL,
                    -- the actions, each with its id, trigger, channel, sender and content (DestinationAction)
                    actions jsonb NOT NULL,
                    -- membership changes before this moment are not this destination's to act on
                    connected_at timestamptz NOT NULL,
                    created_at timestamptz NOT NULL,
                    updated_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, id)
                )
                """,
                "CREATE INDEX messaging_destinations_audience ON messaging_destinations (space_id, audience_id)",
                // Who is in each audience now, with the id of the entry that put them there: sends to
                // existing members use the same message id an entry's own send would.
                """
                CREATE TABLE audience_members (
                    space_id text NOT NULL,
                    audience_id text NOT NULL,
                    profile_id text NOT NULL,
                    entry_id text NOT NULL,
                    entered_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, audience_id, profile_id)
                )
                """,
            ] + AudienceCatalogReplica.tableStatements),
        Migration(
            version: 104, name: "the trace a message belongs to",
            statements: [
                // W3C traceparent of the work that requested the message: the provider call and the
                // message's events continue that trace (NULL when tracing is off).
                "ALTER TABLE messages ADD COLUMN trace_parent text"
            ]),
    ]
}
