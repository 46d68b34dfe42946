import Persistence

/// The subscriptions schema. States are keyed by space, channel, normalised contact and group
/// ('' for the channel's global state); every effective change is kept in `changes` (the audit).
public enum SubscriptionsMigrations {
    public static let all: [Migration] = [
        Migration(
            version: 100, name: "groups, states, changes, jobs",
            statements: [
                """
                CREATE TABLE groups (
                    space_id text NOT NULL,
                    id text NOT NULL,
                    name text NOT NULL,
                    description text NOT NULL DEFAULT '',
                    created_at timestamptz NOT NULL,
                    updated_at timestamptz NOT NULL,
                    deleted_at timestamptz,
                    revision bigint NOT NULL,
                    PRIMARY KEY (space_id, id)
                )
                """,
                "CREATE UNIQUE INDEX groups_live_name ON groups (space_id, lower(name)) WHERE deleted_at IS NULL",
                """
                CREATE TABLE states (
                    space_id text NOT NULL,
                    channel text NOT NULL,
                    contact text NOT NULL,
                    group_id text NOT NULL DEFAULT '',
                    status text NOT NULL,
                    opted_out_by_reply boolean NOT NULL DEFAULT false,
                    -- the last effective change: when it was expressed, by what
                    status_changed_at timestamptz NOT NULL,
                    status_source text NOT NULL,
                    status_origin text,
                    status_command_id text NOT NULL,
                    -- the newest command applied to this state (microseconds, sequence, id): older ones lose
                    command_at_us bigint NOT NULL,
                    command_seq bigint NOT NULL,
                    command_id text NOT NULL,
                    updated_at timestamptz NOT NULL,
                    PRIMARY KEY (space_id, channel, contact, group_id)
                )
                """,
                """
                CREATE TABLE changes (
                    id bigserial PRIMARY KEY,
                    space_id text NOT NULL,
                    channel text NOT NULL,
                    contact text NOT NULL,
                    group_id text NOT NULL DEFAULT '',
                    group_name text,
                    previous_status text,
                    status text NOT NULL,
                    source text NOT NULL,
                    origin text,
                    command_id text NOT NULL,
                    occurred_at timestamptz NOT NULL,
                    recorded_at timestamptz NOT NULL
                )
                """,
                "CREATE INDEX changes_by_contact ON changes (space_id, contact, id)",
                """
                CREATE TABLE jobs (
                    id text PRIMARY KEY,
                    space_id text NOT NULL,
                    status text NOT NULL,
                    item_count integer NOT NULL,
                    next_index integer NOT NULL DEFAULT 0,
                    applied integer NOT NULL DEFAULT 0,
                    unchanged integer NOT NULL DEFAULT 0,
                    rejected integer NOT NULL DEFAULT 0,
                    created_at timestamptz NOT NULL,
                    started_at timestamptz,
                    finished_at timestamptz,
                    lease_until timestamptz
                )
                """,
                "CREATE INDEX jobs_by_space ON jobs (space_id, created_at DESC)",
                "CREATE INDEX jobs_pending ON jobs (created_at) WHERE status IN ('queued', 'running')",
                """
                CREATE TABLE job_items (
                    job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                    index integer NOT NULL,
                    item jsonb NOT NULL,
                    result jsonb,
                    PRIMARY KEY (job_id, index)
                )
                """,
            ])
    ]
}
