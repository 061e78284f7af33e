-- Failed attempts (liveness checks of a subject or an API key) and the lockouts they cause, in
-- the store so that every node sees them (PostgreSQL dialect of the SQLite migration 004).
CREATE TABLE failed_attempts (
    key        text COLLATE "C" NOT NULL,
    at_unix_ms bigint NOT NULL
);
CREATE INDEX failed_attempts_key ON failed_attempts(key, at_unix_ms);
CREATE INDEX failed_attempts_age ON failed_attempts(at_unix_ms);

CREATE TABLE lockouts (
    key           text COLLATE "C" PRIMARY KEY,
    until_unix_ms bigint NOT NULL
);
