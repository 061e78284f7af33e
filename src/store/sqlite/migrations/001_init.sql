-- faceproof schema, version 1 (SQLite dialect).
CREATE TABLE subjects (
    id          INTEGER PRIMARY KEY,
    tenant      TEXT NOT NULL,
    reference   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (tenant, reference)
);

CREATE TABLE consents (
    subject_id      INTEGER PRIMARY KEY REFERENCES subjects(id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    notice_version  TEXT NOT NULL,
    given_at        TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    expires_unix_ms INTEGER NOT NULL  -- expires_at as an instant, for purge comparisons
);
CREATE INDEX consents_expiry ON consents(expires_unix_ms);

CREATE TABLE templates (
    id            INTEGER PRIMARY KEY,
    subject_id    INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    model_id      TEXT NOT NULL,
    quality_score REAL NOT NULL,
    created_at    TEXT NOT NULL,
    key_id        TEXT NOT NULL,
    sealed        BLOB NOT NULL
);
CREATE INDEX templates_subject ON templates(subject_id);

CREATE TABLE audit (
    sequence      INTEGER PRIMARY KEY,
    time          TEXT NOT NULL,
    tenant        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    details_json  TEXT NOT NULL,
    previous_hash TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE INDEX audit_tenant ON audit(tenant, sequence);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
