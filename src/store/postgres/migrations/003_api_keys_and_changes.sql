-- API keys of the HTTP service (only a hash of the secret is stored) and the subject change feed
-- that keeps each node's in-memory index current (PostgreSQL dialect of the SQLite migration 003).
CREATE TABLE api_keys (
    id          text COLLATE "C" PRIMARY KEY,
    tenant      text COLLATE "C" NOT NULL,
    role        text NOT NULL CHECK (role IN ('operator', 'admin')),
    secret_hash text NOT NULL,
    created_at  text COLLATE "C" NOT NULL,  -- listed by created_at then id, bytewise as in SQLite
    revoked_at  text
);
CREATE INDEX api_keys_tenant ON api_keys(tenant);

-- sequence is max + 1 taken under an advisory lock held to commit (see postgres_store.cpp), so
-- sequences become visible in order and are never reused; a gap means "pruned".
CREATE TABLE subject_changes (
    sequence   bigint PRIMARY KEY,
    tenant     text NOT NULL,
    reference  text NOT NULL,
    changed_at text NOT NULL
);
