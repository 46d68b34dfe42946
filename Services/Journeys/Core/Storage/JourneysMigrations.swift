import Persistence

/// The journeys schema: journeys with immutable published versions, per-profile instances and
/// their paths (whose `due_at` is the durable timer), re-entry bookkeeping, per-step counters,
/// conversion goals of sent messages, broadcasts, and replicas of profiles, audience membership
/// and templates.
public enum JourneysMigrations {
    public static let all: [Migration] = [
        Migration(
            version: 100, name: "journeys, instances, paths, goals, broadcasts, replicas",
            statements: [
                "CREATE SEQUENCE journey_revisions",
                """
                CREATE TABLE journeys (
                    space_id text NOT NULL,
                    id text NOT NULL,
                    name text NOT NULL,
                    status text NOT NULL,
                    draft jsonb NOT NULL,
                    current_version int,
                    first_published_at timestamptz,
                    revision bigint NOT NULL DEFAULT nextval('journey_revisions'),
                    created_at timestamptz NOT NULL,
                    updated_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, id)
                )
                """,
                """
                CREATE TABLE journey_versions (
                    space_id text NOT NULL,
                    journey_id text NOT NULL,
                    version int NOT NULL,
                    definition jsonb NOT NULL,
                    step_mapping jsonb,
                    published_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, journey_id, version)
                )
                """,
                """
                CREATE TABLE instances (
                    space_id text NOT NULL,
                    id text NOT NULL,
                    journey_id text NOT NULL,
                    version int NOT NULL,
                    profile_id text NOT NULL,
                    status text NOT NULL,
                    trigger jsonb NOT NULL,
                    entered_at timestamptz NOT NULL,
                    exited_at timestamptz,
                    exit_reason text,
                    PRIMARY KEY (space_id, id)
                )
                """,
                "CREATE INDEX instances_active ON instances (space_id, profile_id, journey_id) WHERE status = 'active'",
                "CREATE INDEX instances_journey ON instances (space_id, journey_id, status)",
                """
                CREATE TABLE paths (
                    space_id text NOT NULL,
                    instance_id text NOT NULL,
                    path_id text NOT NULL,
                    journey_id text NOT NULL,
                    version int NOT NULL,
                    profile_id text NOT NULL,
                    step_id text NOT NULL,
                    status text NOT NULL,
                    step_entered_at timestamptz,
                    due_at timestamptz,
                    resume_branch text,
                    PRIMARY KEY (space_id, instance_id, path_id)
                )
                """,
                // The durable timers: what is due, oldest first.
                "CREATE INDEX paths_due ON paths (due_at) WHERE status <> 'done'",
                "CREATE INDEX paths_waiting ON paths (space_id, profile_id) WHERE status = 'waiting'",
                "CREATE INDEX paths_at_step ON paths (space_id, journey_id, version, step_id) WHERE status <> 'done'",
                """
                CREATE TABLE entries (
                    space_id text NOT NULL,
                    journey_id text NOT NULL,
                    profile_id text NOT NULL,
                    entered int NOT NULL DEFAULT 0,
                    active int NOT NULL DEFAULT 0,
                    last_entered_at timestamptz,
                    last_exited_at timestamptz,
                    PRIMARY KEY (space_id, journey_id, profile_id)
                )
                """,
                """
                CREATE TABLE step_counts (
                    space_id text NOT NULL,
                    journey_id text NOT NULL,
                    version int NOT NULL,
                    step_id text NOT NULL,
                    entered bigint NOT NULL DEFAULT 0,
                    completed bigint NOT NULL DEFAULT 0,
                    exited bigint NOT NULL DEFAULT 0,
                    converted bigint NOT NULL DEFAULT 0,
                    PRIMARY KEY (space_id, journey_id, version, step_id)
                )
                """,
                // Events of profiles inside journeys that split on "performed since entry".
                """
                CREATE TABLE profile_events (
                    space_id text NOT NULL,
                    event_id text NOT NULL,
                    profile_id text NOT NULL,
                    event text NOT NULL,
                    properties jsonb NOT NULL,
                    occurred_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, event_id)
                )
                """,
                "CREATE INDEX profile_events_profile ON profile_events (space_id, profile_id, occurred_at)",
                """
                CREATE TABLE conversion_goals (
                    space_id text NOT NULL,
                    message_id text NOT NULL,
                    instance_id text NOT NULL,
                    journey_id text NOT NULL,
                    version int NOT NULL,
                    step_id text NOT NULL,
                    profile_id text NOT NULL,
                    channel text NOT NULL,
                    template_id text NOT NULL,
                    goal_event text NOT NULL,
                    window_seconds double precision NOT NULL,
                    window_start timestamptz,
                    window_end timestamptz,
                    closed boolean NOT NULL DEFAULT false,
                    converted_at timestamptz,
                    conversion_event_id text,
                    created_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, message_id)
                )
                """,
                "CREATE INDEX conversion_goals_open ON conversion_goals (space_id, profile_id) WHERE converted_at IS NULL AND NOT closed",
                """
                CREATE TABLE audience_members (
                    space_id text NOT NULL,
                    audience_id text NOT NULL,
                    profile_id text NOT NULL,
                    PRIMARY KEY (space_id, audience_id, profile_id)
                )
                """,
                "CREATE INDEX audience_members_profile ON audience_members (space_id, profile_id)",
                """
                CREATE TABLE templates (
                    space_id text NOT NULL,
                    template_id text NOT NULL,
                    name text NOT NULL,
                    channel text NOT NULL,
                    purpose text NOT NULL,
                    current_version int NOT NULL,
                    deleted boolean NOT NULL,
                    PRIMARY KEY (space_id, template_id)
                )
                """,
                """
                CREATE TABLE broadcasts (
                    space_id text NOT NULL,
                    id text NOT NULL,
                    name text NOT NULL,
                    audience_id text NOT NULL,
                    channel text NOT NULL,
                    template_id text NOT NULL,
                    template_version int,
                    purpose text NOT NULL,
                    group_name text,
                    throttle_per_minute int,
                    status text NOT NULL,
                    scheduled_at timestamptz NOT NULL,
                    started_at timestamptz,
                    finished_at timestamptz,
                    cancelled_at timestamptz,
                    recipients bigint NOT NULL DEFAULT 0,
                    requested bigint NOT NULL DEFAULT 0,
                    created_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, id)
                )
                """,
                "CREATE INDEX broadcasts_due ON broadcasts (scheduled_at) WHERE status IN ('scheduled', 'sending')",
                """
                CREATE TABLE broadcast_recipients (
                    space_id text NOT NULL,
                    broadcast_id text NOT NULL,
                    seq bigint NOT NULL,
                    profile_id text NOT NULL,
                    PRIMARY KEY (space_id, broadcast_id, seq)
                )
                """,
                // Message outcomes of broadcast messages, each counted once.
                """
                CREATE TABLE broadcast_outcomes (
                    space_id text NOT NULL,
                    broadcast_id text NOT NULL,
                    message_id text NOT NULL,
                    outcome text NOT NULL,
                    PRIMARY KEY (space_id, broadcast_id, message_id, outcome)
                )
                """,
            ] + ProfileReplica.tableStatements),
        Migration(version: 101, name: "audience catalog replica", statements: AudienceCatalogReplica.tableStatements),
        Migration(
            version: 102, name: "the trace an instance belongs to",
            statements: [
                // W3C traceparent of the record that started the instance: what its steps publish
                // (message requests, journey events) continues that trace (NULL when tracing is off).
                "ALTER TABLE instances ADD COLUMN trace_parent text"
            ]),
    ]
}
