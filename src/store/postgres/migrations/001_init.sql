-- faceproof schema, version 1 (PostgreSQL dialect; same tables as src/store/sqlite/migrations).
-- Tenant and reference sort by bytes (COLLATE "C"), as in SQLite, whatever the database locale.
-- Times are the caller's RFC 3339 text; expires_unix_ms is the instant used for comparisons.
CREATE TABLE subjects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant      text COLLATE "C" NOT NULL,
    reference   text COLLATE "C" NOT NULL,
    created_at  text NOT NULL,
    updated_at  text NOT NULL,
    UNIQUE (tenant, reference)
);

CREATE TABLE consents (
    subject_id      bigint PRIMARY KEY REFERENCES subjects(id) ON DELETE CASCADE,
    purpose         text NOT NULL,
    legal_basis     text NOT NULL,
    notice_version  text NOT NULL,
    given_at        text NOT NULL,
    expires_at      text NOT NULL,
    expires_unix_ms bigint NOT NULL  -- expires_at as an instant, for purge comparisons
);
CREATE INDEX consents_expiry ON consents(expires_unix_ms);

CREATE TABLE templates (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_id    bigint NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    model_id      text NOT NULL,
    quality_score double precision NOT NULL,
    created_at    text NOT NULL,
    key_id        text NOT NULL,
    sealed        bytea NOT NULL
);
-- Ciphertext does not compress: store it out of line without trying.
ALTER TABLE templates ALTER COLUMN sealed SET STORAGE EXTERNAL;
CREATE INDEX templates_subject ON templates(subject_id);

CREATE TABLE audit (
    sequence      bigint PRIMARY KEY,
    time          text NOT NULL,
    tenant        text COLLATE "C" NOT NULL,
    actor         text NOT NULL,
    action        text NOT NULL,
    subject       text NOT NULL,
    outcome       text NOT NULL,
    details_json  text NOT NULL,  -- text, not jsonb: the hash chain covers the exact bytes
    previous_hash text NOT NULL,
    hash          text NOT NULL
);
CREATE INDEX audit_tenant ON audit(tenant, sequence);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit is append-only';
END
$$;
CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
