// faceproof — embedded storage of subjects, consent, sealed templates and the audit trail.
//
// Templates are biometric data: the store only ever sees them sealed (ciphertext produced by the
// caller, `sealed`, with the `key_id` of the data key). The store never decrypts anything.
//
// Backends: "sqlite:PATH" (SQLite, WAL, synchronous=FULL, secure_delete=ON). PostgreSQL follows
// with the same migrations in its dialect and the same test suite (tests/test_store.cpp).
//
// Timestamps are RFC 3339 strings ("2025-01-31T12:00:00Z", offsets and fractions allowed).
// Comparisons (consent validity, expiry) are made on the instant, not on the text.
//
// Errors: every failure is faceproof::Error — store_error (database failure, message from the
// backend), not_found, conflict, consent_invalid, invalid_argument.
//
// Transactions: every mutating call is one transaction of its own, unless it is made inside
// transaction(scope, work), which makes everything `work` does on this Store one transaction that
// holds the write lock of `scope` across threads, processes and nodes. That is how a check and the
// write it decides ("no one else has this face" -> insert) and the audit entry recording it become
// one atomic step: nobody else can write to the scope between them.
//
// Thread safety: a Store is NOT thread-safe; use one Store per thread (each holds its own
// connection). Several Stores (threads or processes) may open the same database concurrently;
// writers serialise through the database lock (busy timeout 5 s, then store_error).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faceproof {

struct Consent {
    std::string purpose;         // e.g. "identity-proofing"
    std::string legal_basis;     // e.g. "consent" (GDPR art. 9(2)(a))
    std::string notice_version;  // version of the privacy notice shown to the subject
    std::string given_at;        // RFC 3339
    std::string expires_at;      // RFC 3339, strictly after given_at
};

struct TemplateRecord {
    std::int64_t id = 0;            // assigned by the store; ignored on input
    std::string model_id;
    double quality_score = 0;
    std::string created_at;         // RFC 3339; empty on input = now
    std::string key_id;             // identifies the data key `sealed` was sealed with
    std::vector<std::uint8_t> sealed;  // ciphertext, opaque to the store
    // The capture the template came from, sealed like `sealed`, only when the operator turned image
    // retention on; empty = no image kept (the default). Deleted with its template.
    std::vector<std::uint8_t> sealed_image;
};

struct Subject {
    std::string tenant, reference;     // (tenant, reference) is unique; both non-empty
    std::string created_at, updated_at;  // RFC 3339; empty on input = now
    Consent consent;
    std::vector<TemplateRecord> templates;
};

struct SubjectKey {
    std::string tenant, reference;
    bool operator==(const SubjectKey&) const = default;
};

struct AuditRow {
    std::int64_t sequence = 0;  // 0 on input = next sequence number
    std::string time, tenant, actor, action, subject, outcome, details_json, previous_hash, hash;
};

// An API key of the HTTP service: the secret itself is never stored, only its hash.
struct ApiKeyRecord {
    std::string id;           // public part of the key, unique
    std::string tenant, role;  // role: "operator" or "admin"
    std::string secret_hash;  // hex hash of the secret part
    std::string created_at;   // RFC 3339; empty on input = now
    std::string revoked_at;   // RFC 3339; empty = active
};

// One entry of the change feed: the subject (tenant, reference) was enrolled, changed or deleted.
// Nodes sharing a database poll the feed to keep their in-memory indexes current.
struct SubjectChange {
    std::int64_t sequence = 0;
    std::string tenant, reference;
};

// Failed attempts that lock a key out (liveness checks of a subject or an API key), kept in the
// store so every node sees them.
struct LockoutRule {
    int failures = 5;                  // this many failures ...
    std::int64_t window_ms = 180'000;  // ... within this window ...
    std::int64_t lock_ms = 900'000;    // ... lock the key out this long
};

// A challenge-liveness session (liveness_session.hpp): state in the store so that any node serves
// any step. No biometric data in clear: the best frame's template is sealed with the data key.
struct LivenessSessionRecord {
    std::string id;             // 32 hex characters from the CSPRNG
    std::string tenant;
    std::string subject;        // reference the session is for; empty = none
    std::string key_id;         // the API key that created it (lockouts count against it)
    std::string mode;           // "motion" | "motion_light"
    std::string challenge;      // the challenge's JSON
    std::string token_hash;     // SHA-256 hex of the client token
    std::int64_t created_unix_ms = 0, expires_unix_ms = 0;
    std::string state = "open";  // open -> capturing -> decided | failed; decided -> used (by a verification)
    std::string result;          // the decision's JSON once decided ("" before)
    std::string probe_key_id;    // data key id that sealed sealed_probe
    std::vector<std::uint8_t> sealed_probe;  // the best frame's template, sealed; empty when none or used
};

// How Store::open treats a SQLite database file that does not exist yet. (PostgreSQL: no effect;
// the server itself reports a database that does not exist.)
enum class StoreOpening {
    // Error{store_error} naming the path: a mistyped --db must not become a new, empty store against
    // which every duplicate check passes. For whatever only reads or changes what is stored.
    existing_only,
    // Creates the file (mode 0600; SQLite gives its -wal and -shm files the same mode) and, for the
    // default "sqlite:", the directories up to it (0700); OpenedStore::created says so. For what may
    // be the first to write: enrolment, a verification's audit entry, API keys, the server.
    create_if_missing,
};

class Store;
struct OpenedStore {
    std::unique_ptr<Store> store;
    std::string created;  // path of the SQLite file this open created; empty when it existed (always for PostgreSQL)
};

class Store {
public:
    virtual ~Store() = default;

    // Runs work as one transaction holding the write lock of scope (e.g. "tenant:acme", "audit"):
    // SQLite takes the database's write lock (BEGIN IMMEDIATE), PostgreSQL a transaction-scoped
    // advisory lock on scope. Every call work makes on this Store joins the transaction (nested
    // transaction() calls become savepoints and add their locks); it commits when work returns and
    // rolls back when work throws (the exception propagates). Locks are held until the outermost
    // transaction ends; callers take scopes in one order (tenant, then change feed, then audit).
    // throws: store_error when the lock is not granted within the busy timeout or the commit fails.
    virtual void transaction(const std::string& scope, const std::function<void()>& work) = 0;

    // Stores subject, consent and templates in ONE transaction (all or nothing).
    // requires: tenant, reference non-empty; every consent field non-empty; purpose, legal_basis,
    //   notice_version valid UTF-8 of at most 256 characters without control characters; times
    //   valid RFC 3339 instants of at most 64 characters; given_at at most 5 minutes after now
    //   (clock skew); expires_at > given_at and expires_at > now (else consent_invalid).
    // throws: conflict if (tenant, reference) exists.
    virtual void enrol(const Subject& s) = 0;

    // Adds one template to an enrolled subject; returns its id. not_found if the subject is absent.
    virtual std::int64_t add_template(const std::string& tenant, const std::string& reference,
                                      const TemplateRecord& t) = 0;

    // The subject with consent and templates (ordered by id), or nullopt.
    virtual std::optional<Subject> find(const std::string& tenant, const std::string& reference) = 0;

    // References of a tenant in ascending order; requires limit >= 0, offset >= 0.
    virtual std::vector<std::string> list(const std::string& tenant, std::int64_t limit,
                                          std::int64_t offset) = 0;

    // Deletes templates, consent and subject (one transaction); false if there was no such subject.
    // Deleted bytes are overwritten (secure_delete); call vacuum() to also compact the file.
    virtual bool remove(const std::string& tenant, const std::string& reference) = 0;

    // Removes every subject whose consent has expired (expires_at <= now) or is missing, in one
    // transaction; returns "tenant/reference" of each. requires: now is RFC 3339 (invalid_argument).
    virtual std::vector<std::string> purge_expired(const std::string& now_rfc3339) = 0;

    // Every template of a tenant with its owner, ordered by template id (to rebuild an index).
    virtual std::vector<std::pair<SubjectKey, TemplateRecord>> all_templates(const std::string& tenant) = 0;

    // Key rotation: calls reseal(owner, record) for every template (all tenants); reseal replaces the record's
    // sealed, sealed_image and key_id in place, and the store writes those three back (key_id must
    // stay non-empty, sealed non-empty; other fields are ignored). Works in batches, each batch one
    // transaction: if reseal throws, the current batch is rolled back and the exception propagates;
    // earlier batches stay committed (each row carries its own key_id, so a rerun resumes safely).
    // Reads are never blocked for longer than one batch.
    virtual void reseal_templates(const std::function<void(const SubjectKey& owner, TemplateRecord&)>& reseal) = 0;

    // Appends one audit row (the audit table is append-only). conflict if sequence is taken.
    virtual void append_audit(const AuditRow& row) = 0;
    // Rows with sequence > after_sequence in ascending order, of one tenant or of all (nullopt).
    virtual std::vector<AuditRow> audit(const std::optional<std::string>& tenant, std::int64_t after_sequence,
                                        std::int64_t limit) = 0;
    virtual std::optional<AuditRow> last_audit() = 0;

    // API keys. add_api_key: conflict when the id exists; invalid_argument for empty fields.
    virtual void add_api_key(const ApiKeyRecord& key) = 0;
    virtual std::optional<ApiKeyRecord> find_api_key(const std::string& id) = 0;
    // All keys (of one tenant, or of all with nullopt), ordered by created_at then id.
    virtual std::vector<ApiKeyRecord> list_api_keys(const std::optional<std::string>& tenant) = 0;
    // Sets revoked_at (RFC 3339) on an active key; false when there is no such active key.
    virtual bool revoke_api_key(const std::string& id, const std::string& at) = 0;

    // The change feed: enrol, add_template, remove and purge_expired append one change per subject
    // touched, in the same transaction. Changes with sequence > after, ascending, at most limit.
    virtual std::vector<SubjectChange> changes_since(std::int64_t after, std::int64_t limit) = 0;
    // The sequence of the newest change, 0 when there is none.
    virtual std::int64_t last_change() = 0;

    // Compacts the database and truncates the write-ahead log.
    virtual void vacuum() = 0;
    // After a deletion: makes deleted bytes leave the database files without compacting. SQLite:
    // the write-ahead log is checkpointed and truncated (with secure_delete on, the deleted rows'
    // bytes are already zeroed in the database file), cheap enough for every deletion. PostgreSQL:
    // nothing — only vacuum() (VACUUM FULL, which locks the tables) removes them; returns false.
    // Returns true when the bytes are gone.
    virtual bool erase_deleted() = 0;

    // Lockouts. record_failure notes one failed attempt of key at now_ms (Unix ms) and returns the
    // end of the key's lockout (Unix ms) when this failure locks it, else 0; attempts older than the
    // rule's window are forgotten. locked_until: the end of key's lockout when locked at now_ms,
    // else 0. clear_failures forgets key's failed attempts (not a lockout in force).
    virtual std::int64_t record_failure(const std::string& key, std::int64_t now_ms, const LockoutRule& rule) = 0;
    virtual std::int64_t locked_until(const std::string& key, std::int64_t now_ms) = 0;
    virtual void clear_failures(const std::string& key) = 0;

    // Liveness sessions. create_session: Error{conflict} on an existing id. advance_session moves a
    // session from state `from` to `to` when it is in `from` (and, from "open", not expired at
    // now_ms), atomically: true for exactly one of several racing callers. finish_session records
    // the outcome (state, result JSON, sealed probe); take_session_probe moves "decided" -> "used"
    // and returns the sealed probe (erased from the store), nullopt when it was not "decided" or had
    // no probe. purge_sessions deletes sessions that expired before before_unix_ms; returns how many.
    virtual void create_session(const LivenessSessionRecord& session) = 0;
    virtual std::optional<LivenessSessionRecord> find_session(const std::string& id) = 0;
    virtual bool advance_session(const std::string& id, const std::string& from, const std::string& to,
                                 std::int64_t now_ms) = 0;
    virtual void finish_session(const std::string& id, const std::string& state, const std::string& result,
                                const std::string& probe_key_id, const std::vector<std::uint8_t>& sealed_probe) = 0;
    virtual std::optional<LivenessSessionRecord> take_session_probe(const std::string& id) = 0;
    virtual std::int64_t purge_sessions(std::int64_t before_unix_ms) = 0;

    // "sqlite:PATH" opens a SQLite database and applies pending migrations; "sqlite:" alone uses
    // $XDG_DATA_HOME/faceproof/faceproof.db, else ~/.local/share/faceproof/faceproof.db. A file that
    // does not exist is created only with StoreOpening::create_if_missing (else store_error); the
    // directory of an explicit PATH is never created. A PATH that is not a regular file (directory,
    // FIFO, device) is store_error. If opening a file this call created fails, the file is removed.
    // "postgresql://…" / "postgres://…": a PostgreSQL server (libpq connection URI), migrations
    // applied under an advisory lock so several nodes can start together.
    // Anything else: invalid_argument.
    static OpenedStore open(const std::string& url, StoreOpening opening);
    // open(url, StoreOpening::create_if_missing).store, for the server and tests, which make their
    // store; a command that only reads passes existing_only.
    static std::unique_ptr<Store> open(const std::string& url);
    // The URL to open: given when non-empty, else $FACEPROOF_DB when set, else "sqlite:".
    static std::string resolve_url(const std::string& given);
};

}  // namespace faceproof
