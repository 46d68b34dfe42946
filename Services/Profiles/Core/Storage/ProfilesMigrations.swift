import Persistence

/// The `profiles` schema. Append new versions; never edit an applied one.
public enum ProfilesMigrations {
    public static let all: [Migration] = [
        Migration(
            version: 100, name: "spaces, sources, tokens, identity rules",
            statements: [
                """
                CREATE TABLE spaces (
                    id text PRIMARY KEY,
                    name text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE sources (
                    id text PRIMARY KEY,
                    space_id text NOT NULL REFERENCES spaces(id),
                    name text NOT NULL,
                    write_key_hash text NOT NULL UNIQUE,
                    created_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE access_tokens (
                    id text PRIMARY KEY,
                    space_id text NOT NULL REFERENCES spaces(id),
                    name text NOT NULL,
                    token_hash text NOT NULL UNIQUE,
                    created_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE identifier_rules (
                    space_id text NOT NULL REFERENCES spaces(id),
                    type text NOT NULL,
                    priority integer NOT NULL CHECK (priority > 0),
                    value_limit integer NOT NULL CHECK (value_limit > 0),
                    window_seconds bigint CHECK (window_seconds > 0),
                    trait_key text,
                    property_key text,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (space_id, type)
                )
                """,
            ]),
        Migration(
            version: 101, name: "profiles, identifiers, traits, events, merges",
            statements: [
                """
                CREATE TABLE profiles (
                    id text PRIMARY KEY,
                    space_id text NOT NULL,
                    created_at timestamptz NOT NULL,
                    updated_at timestamptz NOT NULL,
                    merged_into text,
                    first_message_id text,
                    first_source_id text,
                    last_message_id text,
                    last_source_id text
                )
                """,
                "CREATE INDEX profiles_merged_into ON profiles (merged_into) WHERE merged_into IS NOT NULL",
                """
                CREATE TABLE identifiers (
                    space_id text NOT NULL,
                    type text NOT NULL,
                    value text NOT NULL,
                    profile_id text NOT NULL,
                    created_at timestamptz NOT NULL,
                    source_id text,
                    first_message_id text,
                    PRIMARY KEY (space_id, type, value)
                )
                """,
                "CREATE INDEX identifiers_profile ON identifiers (profile_id)",
                """
                CREATE TABLE traits (
                    profile_id text NOT NULL,
                    key text NOT NULL,
                    value jsonb NOT NULL,
                    updated_at timestamptz NOT NULL,
                    source_id text,
                    message_id text,
                    PRIMARY KEY (profile_id, key)
                )
                """,
                """
                CREATE TABLE events (
                    space_id text NOT NULL,
                    message_id text NOT NULL,
                    profile_id text NOT NULL,
                    source_id text NOT NULL,
                    type text NOT NULL,
                    event text,
                    occurred_at timestamptz NOT NULL,
                    received_at timestamptz NOT NULL,
                    seq bigserial,
                    message text NOT NULL,
                    PRIMARY KEY (space_id, message_id)
                )
                """,
                "CREATE INDEX events_profile_time ON events (profile_id, occurred_at DESC, seq DESC)",
                """
                CREATE TABLE merges (
                    id bigserial PRIMARY KEY,
                    space_id text NOT NULL,
                    from_profile_id text NOT NULL,
                    into_profile_id text NOT NULL,
                    message_id text,
                    merged_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                """
                CREATE TABLE identity_conflicts (
                    id bigserial PRIMARY KEY,
                    space_id text NOT NULL,
                    message_id text NOT NULL,
                    profile_id text NOT NULL,
                    dropped text[] NOT NULL,
                    recorded_at timestamptz NOT NULL DEFAULT now()
                )
                """,
            ]),
        Migration(
            version: 102, name: "merge count per profile",
            statements: [
                "ALTER TABLE profiles ADD COLUMN merge_count integer NOT NULL DEFAULT 0"
            ]),
        Migration(
            version: 103, name: "CSV uploads and the subscription-group replica",
            statements: [
                """
                CREATE TABLE csv_uploads (
                    id text PRIMARY KEY,
                    space_id text NOT NULL REFERENCES spaces(id),
                    filename text NOT NULL,
                    status text NOT NULL,
                    layout jsonb,
                    bytes bigint NOT NULL DEFAULT 0,
                    rows_total integer NOT NULL DEFAULT 0,
                    rows_read integer NOT NULL DEFAULT 0,
                    rows_accepted integer NOT NULL DEFAULT 0,
                    rows_rejected integer NOT NULL DEFAULT 0,
                    next_offset bigint NOT NULL DEFAULT 0,
                    next_row integer NOT NULL DEFAULT 2,
                    batches_sent integer NOT NULL DEFAULT 0,
                    batches_done integer NOT NULL DEFAULT 0,
                    error text,
                    created_at timestamptz NOT NULL,
                    started_at timestamptz,
                    finished_at timestamptz,
                    lease_until timestamptz
                )
                """,
                "CREATE INDEX csv_uploads_by_space ON csv_uploads (space_id, created_at DESC)",
                "CREATE INDEX csv_uploads_pending ON csv_uploads (created_at) WHERE status IN ('queued', 'processing')",
                """
                CREATE TABLE csv_upload_chunks (
                    upload_id text NOT NULL REFERENCES csv_uploads(id) ON DELETE CASCADE,
                    seq integer NOT NULL,
                    data bytea NOT NULL,
                    PRIMARY KEY (upload_id, seq)
                )
                """,
                """
                CREATE TABLE csv_upload_errors (
                    upload_id text NOT NULL REFERENCES csv_uploads(id) ON DELETE CASCADE,
                    row_number integer NOT NULL,
                    code text NOT NULL,
                    message text NOT NULL,
                    seq bigserial,
                    PRIMARY KEY (upload_id, row_number, seq)
                )
                """,
                """
                CREATE TABLE csv_upload_batches (
                    upload_id text NOT NULL REFERENCES csv_uploads(id) ON DELETE CASCADE,
                    batch_id text NOT NULL,
                    PRIMARY KEY (upload_id, batch_id)
                )
                """,
                """
                CREATE TABLE subscription_groups (
                    space_id text NOT NULL,
                    id text NOT NULL,
                    name text NOT NULL,
                    deleted boolean NOT NULL,
                    revision bigint NOT NULL,
                    PRIMARY KEY (space_id, id)
                )
                """,
            ]),
        Migration(
            version: 104, name: "accounts from group calls, user-account links, merge lookups",
            statements: [
                """
                CREATE TABLE accounts (
                    id text PRIMARY KEY,
                    space_id text NOT NULL,
                    group_id text NOT NULL,
                    created_at timestamptz NOT NULL,
                    updated_at timestamptz NOT NULL,
                    first_message_id text NOT NULL,
                    first_source_id text NOT NULL,
                    last_message_id text NOT NULL,
                    last_source_id text NOT NULL,
                    UNIQUE (space_id, group_id)
                )
                """,
                """
                CREATE TABLE account_traits (
                    account_id text NOT NULL,
                    key text NOT NULL,
                    value jsonb NOT NULL,
                    updated_at timestamptz NOT NULL,
                    source_id text,
                    message_id text,
                    PRIMARY KEY (account_id, key)
                )
                """,
                """
                CREATE TABLE account_links (
                    account_id text NOT NULL,
                    profile_id text NOT NULL,
                    created_at timestamptz NOT NULL,
                    source_id text NOT NULL,
                    first_message_id text NOT NULL,
                    seq bigserial,
                    PRIMARY KEY (account_id, profile_id)
                )
                """,
                "CREATE INDEX account_links_by_account ON account_links (account_id, seq)",
                "CREATE INDEX account_links_by_profile ON account_links (profile_id, seq)",
                "ALTER TABLE events ADD COLUMN account_id text",
                """
                CREATE INDEX events_account_time ON events (account_id, occurred_at DESC, seq DESC)
                WHERE account_id IS NOT NULL
                """,
                "CREATE INDEX merges_from ON merges (from_profile_id)",
            ]),
    ]
}
