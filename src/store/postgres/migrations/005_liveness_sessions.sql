-- Challenge-liveness sessions (PostgreSQL dialect of the SQLite migration 005): the challenge, a
-- hash of the client token, state and result, so that any node can serve any step; the best
-- frame's template sealed with the data key until it is used or the session is purged.
CREATE TABLE liveness_sessions (
    id              text COLLATE "C" PRIMARY KEY,
    tenant          text COLLATE "C" NOT NULL,
    subject         text COLLATE "C" NOT NULL,
    key_id          text COLLATE "C" NOT NULL,
    mode            text NOT NULL,
    challenge       text NOT NULL,
    token_hash      text NOT NULL,
    created_unix_ms bigint NOT NULL,
    expires_unix_ms bigint NOT NULL,
    state           text NOT NULL,
    result          text NOT NULL,
    probe_key_id    text NOT NULL,
    sealed_probe    bytea
);
CREATE INDEX liveness_sessions_expiry ON liveness_sessions(expires_unix_ms);
