-- Failed attempts (liveness checks of a subject or an API key) and the lockouts they cause, in
-- the store so that every process and node sees them.
CREATE TABLE failed_attempts (
    key        TEXT NOT NULL,
    at_unix_ms INTEGER NOT NULL
);
CREATE INDEX failed_attempts_key ON failed_attempts(key, at_unix_ms);
CREATE INDEX failed_attempts_age ON failed_attempts(at_unix_ms);

CREATE TABLE lockouts (
    key           TEXT PRIMARY KEY,
    until_unix_ms INTEGER NOT NULL
);
