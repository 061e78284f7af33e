-- Challenge-liveness sessions: the challenge a server drew, who may capture against it (a hash of
-- the client token, never the token), its state and its result, in the store so that any node can
-- serve any step. The best frame's template (for a following verification) is sealed with the data
-- key and removed when it is used or the session is purged.
CREATE TABLE liveness_sessions (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    mode            TEXT NOT NULL,
    challenge       TEXT NOT NULL,
    token_hash      TEXT NOT NULL,
    created_unix_ms INTEGER NOT NULL,
    expires_unix_ms INTEGER NOT NULL,
    state           TEXT NOT NULL,
    result          TEXT NOT NULL,
    probe_key_id    TEXT NOT NULL,
    sealed_probe    BLOB
);
CREATE INDEX liveness_sessions_expiry ON liveness_sessions(expires_unix_ms);
