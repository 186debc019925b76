//! The schema, as numbered migrations applied in order by [`PostgresStore::migrate`](crate::PostgresStore::migrate).
//!
//! Every table keeps each record as the JSON the core serialises (its persisted form, checked on
//! every read), beside the columns the operations look up, lock or purge by. A migration is never
//! edited once released; a change is a new migration.

/// `(version, SQL)`, in order.
pub(crate) const MIGRATIONS: &[(i32, &str)] = &[(1, V1)];

/// The newest schema version this crate writes.
pub const SCHEMA_VERSION: i32 = 1;

const V1: &str = r#"
CREATE TABLE oauth21_clients (
    id text PRIMARY KEY,
    data text NOT NULL
);

-- Codes: `used` is the compare-and-swap of take_code; the row stays until it expires, so a
-- replay is recognised.
CREATE TABLE oauth21_codes (
    hash text PRIMARY KEY,
    data text NOT NULL,
    used boolean NOT NULL DEFAULT false,
    expires_at timestamptz NOT NULL
);
CREATE INDEX oauth21_codes_expires ON oauth21_codes (expires_at);

-- Grants (families): `active` is the refresh token a rotation must present, `previous` the one
-- rotated out last and `retried` whether its grace retry was used. `revoked` rows stay until
-- they expire, so a rotation that waited on the row lock sees the revocation.
CREATE TABLE oauth21_grants (
    grant_id text PRIMARY KEY,
    subject text NOT NULL,
    data text NOT NULL,
    active text,
    previous text,
    retried boolean NOT NULL DEFAULT false,
    revoked boolean NOT NULL DEFAULT false,
    expires_at timestamptz NOT NULL
);
CREATE INDEX oauth21_grants_subject ON oauth21_grants (subject);
CREATE INDEX oauth21_grants_expires ON oauth21_grants (expires_at);

-- Access and refresh tokens. A refresh token's row lives until its grant ends (`expires_at`),
-- rotated out or not, so a late replay is recognised; `rotated_at` overrides the record's.
CREATE TABLE oauth21_tokens (
    hash text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id text NOT NULL,
    subject text NOT NULL,
    data text NOT NULL,
    rotated_at timestamptz,
    expires_at timestamptz NOT NULL
);
CREATE INDEX oauth21_tokens_grant ON oauth21_tokens (grant_id);
CREATE INDEX oauth21_tokens_subject ON oauth21_tokens (subject);
CREATE INDEX oauth21_tokens_expires ON oauth21_tokens (expires_at);

CREATE TABLE oauth21_revoked_grants (
    grant_id text PRIMARY KEY,
    until timestamptz NOT NULL
);
CREATE INDEX oauth21_revoked_grants_until ON oauth21_revoked_grants (until);

CREATE TABLE oauth21_revoked_subjects (
    subject text PRIMARY KEY,
    revoked_at timestamptz NOT NULL,
    until timestamptz NOT NULL
);
CREATE INDEX oauth21_revoked_subjects_until ON oauth21_revoked_subjects (until);

-- Single-use claims (DPoP proofs, client assertions, pushed requests' loads and completions).
CREATE TABLE oauth21_claims (
    hash text PRIMARY KEY,
    until timestamptz NOT NULL
);
CREATE INDEX oauth21_claims_until ON oauth21_claims (until);

CREATE TABLE oauth21_pushed_requests (
    hash text PRIMARY KEY,
    data text NOT NULL,
    until timestamptz NOT NULL
);
CREATE INDEX oauth21_pushed_requests_until ON oauth21_pushed_requests (until);

-- Device requests: the record as inserted, and the fields that change beside it.
CREATE TABLE oauth21_device_requests (
    hash text PRIMARY KEY,
    user_code text NOT NULL,
    client_id text NOT NULL,
    data text NOT NULL,
    phase text NOT NULL CHECK (phase IN ('pending', 'approved', 'denied', 'redeemed')),
    approval text,
    interval_s bigint NOT NULL,
    polled_at timestamptz,
    expires_at timestamptz NOT NULL
);
CREATE INDEX oauth21_device_requests_user_code ON oauth21_device_requests (user_code);
CREATE INDEX oauth21_device_requests_expires ON oauth21_device_requests (expires_at);
"#;

/// The tables a purge visits: (table, the column that says when a row may go).
pub(crate) const EXPIRING: &[(&str, &str)] = &[
    ("oauth21_codes", "expires_at"),
    ("oauth21_tokens", "expires_at"),
    ("oauth21_grants", "expires_at"),
    ("oauth21_revoked_grants", "until"),
    ("oauth21_revoked_subjects", "until"),
    ("oauth21_claims", "until"),
    ("oauth21_pushed_requests", "until"),
    ("oauth21_device_requests", "expires_at"),
];
