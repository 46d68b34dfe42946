import Persistence

/// The audiences schema: definitions with their versions, the per-profile state evaluation works
/// from, memberships with their history, the compact event log backfills read, timers, builds.
public enum AudiencesMigrations {
    public static let all: [Migration] = [
        Migration(
            version: 100, name: "definitions, profile state, memberships, event log, timers, builds",
            statements: [
                """
                CREATE TABLE audiences (
                    space_id text NOT NULL,
                    id text NOT NULL,
                    key text NOT NULL,
                    name text NOT NULL,
                    description text NOT NULL DEFAULT '',
                    current_version int NOT NULL,
                    -- the version that decides membership; behind current_version while a new one builds
                    live_version int,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    deleted_at timestamptz,
                    PRIMARY KEY (space_id, id)
                )
                """,
                "CREATE UNIQUE INDEX audiences_live_key ON audiences (space_id, key) WHERE deleted_at IS NULL",
                """
                CREATE TABLE audience_versions (
                    space_id text NOT NULL,
                    audience_id text NOT NULL,
                    version int NOT NULL,
                    definition jsonb NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (space_id, audience_id, version)
                )
                """,
                """
                CREATE TABLE computed_traits (
                    space_id text NOT NULL,
                    id text NOT NULL,
                    key text NOT NULL,
                    name text NOT NULL,
                    description text NOT NULL DEFAULT '',
                    current_version int NOT NULL,
                    live_version int,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    deleted_at timestamptz,
                    PRIMARY KEY (space_id, id)
                )
                """,
                "CREATE UNIQUE INDEX computed_traits_live_key ON computed_traits (space_id, key) WHERE deleted_at IS NULL",
                """
                CREATE TABLE computed_trait_versions (
                    space_id text NOT NULL,
                    trait_id text NOT NULL,
                    version int NOT NULL,
                    definition jsonb NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (space_id, trait_id, version)
                )
                """,
                // Bumped by every definition change; consumers compare it under a shared lock per batch.
                "CREATE TABLE definitions_clock (id int PRIMARY KEY, revision bigint NOT NULL)",
                "INSERT INTO definitions_clock VALUES (1, 0)",
                """
                CREATE TABLE builds (
                    id bigserial PRIMARY KEY,
                    space_id text NOT NULL,
                    target_kind text NOT NULL,
                    target_id text NOT NULL,
                    version int NOT NULL,
                    phase text NOT NULL DEFAULT 'pending',
                    events_total bigint NOT NULL DEFAULT 0,
                    events_scanned bigint NOT NULL DEFAULT 0,
                    profiles_total bigint NOT NULL DEFAULT 0,
                    profiles_evaluated bigint NOT NULL DEFAULT 0,
                    entered bigint NOT NULL DEFAULT 0,
                    exited bigint NOT NULL DEFAULT 0,
                    owner text,
                    heartbeat_at timestamptz,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    started_at timestamptz,
                    finished_at timestamptz,
                    error text
                )
                """,
                "CREATE INDEX builds_open ON builds (id) WHERE phase NOT IN ('done', 'failed', 'superseded')",
                "CREATE INDEX builds_target ON builds (space_id, target_id, id)",
                """
                CREATE TABLE profile_state (
                    space_id text NOT NULL,
                    profile_id text NOT NULL,
                    user_id text,
                    email text,
                    phone text,
                    anonymous_ids text[] NOT NULL DEFAULT '{}',
                    traits jsonb NOT NULL DEFAULT '{}',
                    entries jsonb NOT NULL DEFAULT '{}',
                    computed jsonb NOT NULL DEFAULT '{}',
                    member_of text[] NOT NULL DEFAULT '{}',
                    merged_into text,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (space_id, profile_id)
                )
                """,
                "CREATE INDEX profile_state_email ON profile_state (space_id, email) WHERE email IS NOT NULL",
                "CREATE INDEX profile_state_phone ON profile_state (space_id, phone) WHERE phone IS NOT NULL",
                "CREATE INDEX profile_state_merged ON profile_state (space_id, merged_into) WHERE merged_into IS NOT NULL",
                """
                CREATE TABLE memberships (
                    space_id text NOT NULL,
                    audience_id text NOT NULL,
                    profile_id text NOT NULL,
                    entered_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, audience_id, profile_id)
                )
                """,
                """
                CREATE TABLE membership_history (
                    id bigserial PRIMARY KEY,
                    space_id text NOT NULL,
                    profile_id text NOT NULL,
                    audience_id text NOT NULL,
                    audience_key text NOT NULL,
                    audience_version int NOT NULL,
                    entered boolean NOT NULL,
                    reason text NOT NULL,
                    merged_into text,
                    occurred_at timestamptz NOT NULL
                )
                """,
                "CREATE INDEX membership_history_profile ON membership_history (space_id, profile_id, id)",
                // The compact event history backfills and previews read: track events only, with what
                // conditions can look at. The key doubles as the consumer's deduplication.
                """
                CREATE TABLE event_log (
                    space_id text NOT NULL,
                    profile_id text NOT NULL,
                    message_id text NOT NULL,
                    name text NOT NULL,
                    occurred_at timestamptz NOT NULL,
                    properties jsonb NOT NULL,
                    PRIMARY KEY (space_id, profile_id, message_id)
                )
                """,
                "CREATE INDEX event_log_name ON event_log (space_id, name, occurred_at)",
                """
                CREATE TABLE timers (
                    space_id text NOT NULL,
                    profile_id text NOT NULL,
                    due_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, profile_id)
                )
                """,
                "CREATE INDEX timers_due ON timers (due_at)",
                """
                CREATE TABLE subscription_states (
                    space_id text NOT NULL,
                    channel text NOT NULL,
                    contact text NOT NULL,
                    group_name text NOT NULL,
                    status text NOT NULL,
                    recorded_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, channel, contact, group_name)
                )
                """,
            ]),
        // Audiences made before engage.audiences existed are announced once, so other services
        // (broadcasts, messaging destinations) learn them too.
        Migration(
            version: 101, name: "audiences announced",
            statements: [
                """
                INSERT INTO outbox (topic, key, payload, headers)
                SELECT 'engage.audiences', space_id || '|' || id,
                    jsonb_build_object('schemaVersion', 1,
                                       'id', space_id || ':' || id || ':' || current_version || ':' || name
                                           || CASE WHEN deleted_at IS NULL THEN '' ELSE ':deleted' END,
                                       'spaceId', space_id, 'audienceId', id, 'audienceKey', key, 'name', name,
                                       'currentVersion', current_version, 'deleted', deleted_at IS NOT NULL,
                                       'occurredAt', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text,
                    '{"contract": "audience-change/1"}'::jsonb
                FROM audiences ORDER BY created_at
                """
            ]),
    ]
}
