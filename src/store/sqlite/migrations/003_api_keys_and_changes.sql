-- API keys of the HTTP service (only a hash of the secret is stored) and the subject change feed
-- that keeps each node's in-memory index current.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('operator', 'admin')),
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX api_keys_tenant ON api_keys(tenant);

CREATE TABLE subject_changes (
    sequence   INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so a gap means "pruned"
    tenant     TEXT NOT NULL,
    reference  TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
