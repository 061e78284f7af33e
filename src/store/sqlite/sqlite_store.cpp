#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "faceproof/error.hpp"
#include "sqlite_migrations_data.hpp"
#include "store/record_checks.hpp"
#include "store/rfc3339.hpp"

namespace faceproof::store_detail {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr int kResealBatch = 256;
#define API_KEY_COLUMNS "id, tenant, role, secret_hash, created_at, revoked_at"
#define SESSION_COLUMNS                                                                                     \
    "id, tenant, subject, key_id, mode, challenge, token_hash, created_unix_ms, expires_unix_ms, state, result, " \
    "probe_key_id, sealed_probe"
#define AUDIT_COLUMNS "sequence, time, tenant, actor, action, subject, outcome, details_json, previous_hash, hash"

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
    const int code = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
    const std::string msg = "store: " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
        throw Error(ErrorCode::conflict, msg);
    throw Error(ErrorCode::store_error, msg);
}

// One prepared statement; parameters are bound, never spliced into the SQL text.
class Stmt {
public:
    Stmt(sqlite3* db, std::string_view sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
            fail(db, "prepare");
    }
    ~Stmt() { sqlite3_finalize(stmt_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    Stmt& bind(int i, const std::string& v) {
        check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
        return *this;
    }
    Stmt& bind(int i, std::int64_t v) {
        check(sqlite3_bind_int64(stmt_, i, v));
        return *this;
    }
    Stmt& bind(int i, double v) {
        check(sqlite3_bind_double(stmt_, i, v));
        return *this;
    }
    Stmt& bind(int i, const std::vector<std::uint8_t>& v) {
        // zeroblob-safe: an empty vector binds a zero-length blob, not NULL
        check(v.empty() ? sqlite3_bind_zeroblob(stmt_, i, 0)
                        : sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
        return *this;
    }
    // An empty vector binds NULL (no retained image).
    Stmt& bind_optional(int i, const std::vector<std::uint8_t>& v) {
        if (v.empty()) {
            check(sqlite3_bind_null(stmt_, i));
            return *this;
        }
        return bind(i, v);
    }
    // true while a row is available
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail(db_, "step");
    }
    void run() {
        while (step()) {
        }
    }
    // Ready to run again with new bindings.
    void reset() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    std::string text(int c) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))) : std::string();
    }
    std::int64_t i64(int c) const { return sqlite3_column_int64(stmt_, c); }
    double dbl(int c) const { return sqlite3_column_double(stmt_, c); }
    std::vector<std::uint8_t> blob(int c) const {
        const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, c));
        return p ? std::vector<std::uint8_t>(p, p + sqlite3_column_bytes(stmt_, c)) : std::vector<std::uint8_t>();
    }

private:
    void check(int rc) {
        if (rc != SQLITE_OK) fail(db_, "bind");
    }
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql, const std::string& what) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        const std::string msg = err ? err : sqlite3_errmsg(db);
        sqlite3_free(err);
        throw Error(ErrorCode::store_error, "store: " + what + ": " + msg);
    }
}

// A write transaction: BEGIN IMMEDIATE (the write lock taken up front: no lock-upgrade deadlocks)
// when none is open, else a savepoint inside the open one (Store::transaction nests every call
// made in it). Rolls back unless committed.
class Tx {
public:
    explicit Tx(sqlite3* db) : db_(db), nested_(sqlite3_get_autocommit(db) == 0) {
        exec(db_, nested_ ? "SAVEPOINT fp_nested" : "BEGIN IMMEDIATE", "begin transaction");
    }
    ~Tx() {
        if (done_) return;
        if (nested_)
            sqlite3_exec(db_, "ROLLBACK TO fp_nested; RELEASE fp_nested", nullptr, nullptr, nullptr);
        else
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Tx(const Tx&) = delete;
    Tx& operator=(const Tx&) = delete;
    void commit() {
        exec(db_, nested_ ? "RELEASE fp_nested" : "COMMIT", "commit");
        done_ = true;
    }

private:
    sqlite3* db_;
    const bool nested_;
    bool done_ = false;
};

// A consistent snapshot for several reads: a read transaction, unless one is open already.
class ReadTx {
public:
    explicit ReadTx(sqlite3* db) : db_(db), own_(sqlite3_get_autocommit(db) != 0) {
        if (own_) exec(db_, "BEGIN", "begin transaction");
    }
    ~ReadTx() {
        if (own_) sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    }
    ReadTx(const ReadTx&) = delete;
    ReadTx& operator=(const ReadTx&) = delete;

private:
    sqlite3* db_;
    const bool own_;
};

class SqliteStore final : public Store {
public:
    explicit SqliteStore(const std::string& path) {
        const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            throw Error(ErrorCode::store_error, "store: cannot open " + path + ": " + msg);
        }
        try {
            sqlite3_extended_result_codes(db_, 1);
            sqlite3_busy_timeout(db_, kBusyTimeoutMs);
            configure();
            {
                Stmt s(db_, "PRAGMA journal_mode");
                if (!s.step() || s.text(0) != "wal")
                    throw Error(ErrorCode::store_error, "store: cannot enable WAL journal mode on " + path);
            }
            migrate();
        } catch (...) {
            sqlite3_close(db_);
            throw;
        }
    }
    ~SqliteStore() override { sqlite3_close(db_); }

    void enrol(const Subject& s) override {
        require_key(s.tenant, s.reference);
        const std::int64_t expires_ms = check_consent(s.consent);
        Tx tx(db_);
        {
            Stmt q(db_, "SELECT 1 FROM subjects WHERE tenant = ?1 AND reference = ?2");
            q.bind(1, s.tenant).bind(2, s.reference);
            if (q.step())
                throw Error(ErrorCode::conflict, "store: subject " + s.tenant + "/" + s.reference + " exists already");
        }
        const std::string now = now_rfc3339();
        const std::string created = s.created_at.empty() ? now : s.created_at;
        Stmt ins(db_, "INSERT INTO subjects (tenant, reference, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)");
        ins.bind(1, s.tenant).bind(2, s.reference).bind(3, created).bind(4, s.updated_at.empty() ? created : s.updated_at);
        ins.run();
        const std::int64_t id = sqlite3_last_insert_rowid(db_);
        Stmt c(db_,
               "INSERT INTO consents (subject_id, purpose, legal_basis, notice_version, given_at, expires_at,"
               " expires_unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        c.bind(1, id).bind(2, s.consent.purpose).bind(3, s.consent.legal_basis).bind(4, s.consent.notice_version);
        c.bind(5, s.consent.given_at).bind(6, s.consent.expires_at).bind(7, expires_ms);
        c.run();
        for (const auto& t : s.templates) insert_template(id, t);
        record_change(s.tenant, s.reference);
        tx.commit();
    }

    std::int64_t add_template(const std::string& tenant, const std::string& reference,
                              const TemplateRecord& t) override {
        require_key(tenant, reference);
        Tx tx(db_);
        const auto id = subject_id(tenant, reference);
        if (!id) throw Error(ErrorCode::not_found, "store: no subject " + tenant + "/" + reference);
        const std::int64_t tid = insert_template(*id, t);
        Stmt u(db_, "UPDATE subjects SET updated_at = ?1 WHERE id = ?2");
        u.bind(1, now_rfc3339()).bind(2, *id);
        u.run();
        record_change(tenant, reference);
        tx.commit();
        return tid;
    }

    std::optional<Subject> find(const std::string& tenant, const std::string& reference) override {
        // One read transaction, so subject, consent and templates are a consistent snapshot.
        ReadTx snapshot(db_);
        Stmt q(db_,
               "SELECT s.id, s.created_at, s.updated_at, c.purpose, c.legal_basis, c.notice_version, c.given_at,"
               " c.expires_at FROM subjects s LEFT JOIN consents c ON c.subject_id = s.id"
               " WHERE s.tenant = ?1 AND s.reference = ?2");
        q.bind(1, tenant).bind(2, reference);
        if (!q.step()) return std::nullopt;
        Subject s;
        s.tenant = tenant;
        s.reference = reference;
        const std::int64_t id = q.i64(0);
        s.created_at = q.text(1);
        s.updated_at = q.text(2);
        s.consent = Consent{q.text(3), q.text(4), q.text(5), q.text(6), q.text(7)};
        Stmt t(db_,
               "SELECT id, model_id, quality_score, created_at, key_id, sealed, sealed_image FROM templates"
               " WHERE subject_id = ?1 ORDER BY id");
        t.bind(1, id);
        while (t.step()) s.templates.push_back(read_template(t, 0));
        return s;
    }

    std::vector<std::string> list(const std::string& tenant, std::int64_t limit, std::int64_t offset) override {
        if (limit < 0 || offset < 0) throw Error(ErrorCode::invalid_argument, "store: limit and offset must be >= 0");
        Stmt q(db_, "SELECT reference FROM subjects WHERE tenant = ?1 ORDER BY reference LIMIT ?2 OFFSET ?3");
        q.bind(1, tenant).bind(2, limit).bind(3, offset);
        std::vector<std::string> out;
        while (q.step()) out.push_back(q.text(0));
        return out;
    }

    bool remove(const std::string& tenant, const std::string& reference) override {
        Tx tx(db_);
        // Explicit deletes (not only ON DELETE CASCADE) so removal does not depend on the pragma.
        const auto id = subject_id(tenant, reference);
        if (!id) return false;
        delete_subject(*id);
        record_change(tenant, reference);
        tx.commit();
        return true;
    }

    std::vector<std::string> purge_expired(const std::string& now) override {
        const auto now_ms = parse_rfc3339_ms(now);
        if (!now_ms) throw Error(ErrorCode::invalid_argument, "store: purge_expired: now must be RFC 3339");
        Tx tx(db_);
        std::vector<std::pair<std::int64_t, SubjectKey>> victims;
        {
            Stmt q(db_,
                   "SELECT s.id, s.tenant, s.reference FROM subjects s LEFT JOIN consents c ON c.subject_id = s.id"
                   " WHERE c.subject_id IS NULL OR c.expires_unix_ms <= ?1 ORDER BY s.tenant, s.reference");
            q.bind(1, *now_ms);
            while (q.step()) victims.emplace_back(q.i64(0), SubjectKey{q.text(1), q.text(2)});
        }
        std::vector<std::string> out;
        for (auto& [id, key] : victims) {
            delete_subject(id);
            record_change(key.tenant, key.reference);
            out.push_back(key.tenant + "/" + key.reference);
        }
        tx.commit();
        return out;
    }

    std::vector<std::pair<SubjectKey, TemplateRecord>> all_templates(const std::string& tenant) override {
        Stmt q(db_,
               "SELECT s.reference, t.id, t.model_id, t.quality_score, t.created_at, t.key_id, t.sealed, t.sealed_image"
               " FROM templates t JOIN subjects s ON s.id = t.subject_id WHERE s.tenant = ?1 ORDER BY t.id");
        q.bind(1, tenant);
        std::vector<std::pair<SubjectKey, TemplateRecord>> out;
        while (q.step()) out.emplace_back(SubjectKey{tenant, q.text(0)}, read_template(q, 1));
        return out;
    }

    void reseal_templates(const std::function<void(const SubjectKey&, TemplateRecord&)>& reseal) override {
        std::int64_t after = 0;
        for (;;) {
            Tx tx(db_);
            std::vector<std::pair<SubjectKey, TemplateRecord>> batch;
            {
                Stmt q(db_,
                       "SELECT s.tenant, s.reference, t.id, t.model_id, t.quality_score, t.created_at, t.key_id,"
                       " t.sealed, t.sealed_image FROM templates t JOIN subjects s ON s.id = t.subject_id"
                       " WHERE t.id > ?1 ORDER BY t.id LIMIT ?2");
                q.bind(1, after).bind(2, static_cast<std::int64_t>(kResealBatch));
                while (q.step()) batch.emplace_back(SubjectKey{q.text(0), q.text(1)}, read_template(q, 2));
            }
            if (batch.empty()) return;  // Tx rolls back an empty read transaction
            const std::int64_t last_id = batch.back().second.id;
            Stmt u(db_, "UPDATE templates SET sealed = ?1, key_id = ?2, sealed_image = ?3 WHERE id = ?4");
            for (auto& [owner, t] : batch) {
                const std::int64_t id = t.id;
                reseal(owner, t);
                if (t.key_id.empty() || t.sealed.empty())
                    throw Error(ErrorCode::invalid_argument, "store: reseal left an empty key id or template");
                u.bind(1, t.sealed).bind(2, t.key_id).bind_optional(3, t.sealed_image).bind(4, id);
                u.run();
                u.reset();
            }
            tx.commit();
            after = last_id;
        }
    }

    void append_audit(const AuditRow& r) override {
        Stmt q(db_,
               "INSERT INTO audit (sequence, time, tenant, actor, action, subject, outcome, details_json,"
               " previous_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
        if (r.sequence > 0) q.bind(1, r.sequence);  // unbound = NULL = next rowid
        else if (r.sequence < 0) throw Error(ErrorCode::invalid_argument, "store: audit sequence must be >= 0");
        q.bind(2, or_now(r.time)).bind(3, r.tenant).bind(4, r.actor).bind(5, r.action).bind(6, r.subject);
        q.bind(7, r.outcome).bind(8, r.details_json.empty() ? std::string("{}") : r.details_json);
        q.bind(9, r.previous_hash).bind(10, r.hash);
        q.run();
    }

    std::vector<AuditRow> audit(const std::optional<std::string>& tenant, std::int64_t after_sequence,
                                std::int64_t limit) override {
        if (limit < 0) throw Error(ErrorCode::invalid_argument, "store: limit must be >= 0");
        Stmt q(db_, tenant ? "SELECT " AUDIT_COLUMNS " FROM audit WHERE sequence > ?1 AND tenant = ?3"
                             " ORDER BY sequence LIMIT ?2"
                           : "SELECT " AUDIT_COLUMNS " FROM audit WHERE sequence > ?1 ORDER BY sequence LIMIT ?2");
        q.bind(1, after_sequence).bind(2, limit);
        if (tenant) q.bind(3, *tenant);
        std::vector<AuditRow> out;
        while (q.step()) out.push_back(read_audit(q));
        return out;
    }

    std::optional<AuditRow> last_audit() override {
        Stmt q(db_, "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY sequence DESC LIMIT 1");
        if (!q.step()) return std::nullopt;
        return read_audit(q);
    }

    void add_api_key(const ApiKeyRecord& k) override {
        if (k.id.empty() || k.tenant.empty() || k.secret_hash.empty() || (k.role != "operator" && k.role != "admin"))
            throw Error(ErrorCode::invalid_argument, "store: an API key needs id, tenant, secret hash and role operator|admin");
        Stmt q(db_, "INSERT INTO api_keys (id, tenant, role, secret_hash, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, NULL)");
        q.bind(1, k.id).bind(2, k.tenant).bind(3, k.role).bind(4, k.secret_hash).bind(5, or_now(k.created_at));
        q.run();
    }

    std::optional<ApiKeyRecord> find_api_key(const std::string& id) override {
        Stmt q(db_, "SELECT " API_KEY_COLUMNS " FROM api_keys WHERE id = ?1");
        q.bind(1, id);
        if (!q.step()) return std::nullopt;
        return read_api_key(q);
    }

    std::vector<ApiKeyRecord> list_api_keys(const std::optional<std::string>& tenant) override {
        Stmt q(db_, tenant ? "SELECT " API_KEY_COLUMNS " FROM api_keys WHERE tenant = ?1 ORDER BY created_at, id"
                           : "SELECT " API_KEY_COLUMNS " FROM api_keys ORDER BY created_at, id");
        if (tenant) q.bind(1, *tenant);
        std::vector<ApiKeyRecord> out;
        while (q.step()) out.push_back(read_api_key(q));
        return out;
    }

    bool revoke_api_key(const std::string& id, const std::string& at) override {
        if (!parse_rfc3339_ms(at)) throw Error(ErrorCode::invalid_argument, "store: revoke_api_key: at must be RFC 3339");
        Stmt q(db_, "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL");
        q.bind(1, at).bind(2, id);
        q.run();
        return sqlite3_changes(db_) > 0;
    }

    std::vector<SubjectChange> changes_since(std::int64_t after, std::int64_t limit) override {
        if (limit < 0) throw Error(ErrorCode::invalid_argument, "store: limit must be >= 0");
        Stmt q(db_, "SELECT sequence, tenant, reference FROM subject_changes WHERE sequence > ?1 ORDER BY sequence LIMIT ?2");
        q.bind(1, after).bind(2, limit);
        std::vector<SubjectChange> out;
        while (q.step()) out.push_back({q.i64(0), q.text(1), q.text(2)});
        return out;
    }

    std::int64_t last_change() override {
        // sqlite_sequence remembers the highest sequence even after pruning.
        Stmt q(db_, "SELECT seq FROM sqlite_sequence WHERE name = 'subject_changes'");
        return q.step() ? q.i64(0) : 0;
    }

    void vacuum() override {
        // The feed only has to reach running nodes; old entries go (a node that falls behind the
        // pruned range sees the gap and rebuilds its index).
        exec(db_, "DELETE FROM subject_changes WHERE sequence <= (SELECT MAX(sequence) FROM subject_changes) - 10000",
             "prune changes");
        exec(db_, "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);", "vacuum");
    }

    bool erase_deleted() override {
        // With secure_delete the deleted rows are zeroed in the database file; their earlier
        // images live on in the write-ahead log until it is checkpointed and truncated. TRUNCATE
        // waits (busy handler) for readers of older snapshots; it reports busy when one outlasts it.
        Stmt q(db_, "PRAGMA wal_checkpoint(TRUNCATE)");
        return q.step() && q.i64(0) == 0;
    }

    void transaction(const std::string&, const std::function<void()>& work) override {
        Tx tx(db_);  // the database has one write lock: it covers every scope
        work();
        tx.commit();
    }

    std::int64_t record_failure(const std::string& key, std::int64_t now_ms, const LockoutRule& rule) override {
        check_lockout_rule(key, rule);
        Tx tx(db_);
        // Forget what no rule can count any more (bounded table), and this key's old attempts.
        Stmt old(db_, "DELETE FROM failed_attempts WHERE at_unix_ms <= ?1 OR (key = ?2 AND at_unix_ms <= ?3)");
        old.bind(1, now_ms - kLongestLockoutWindowMs).bind(2, key).bind(3, now_ms - rule.window_ms);
        old.run();
        Stmt expired(db_, "DELETE FROM lockouts WHERE until_unix_ms <= ?1");
        expired.bind(1, now_ms);
        expired.run();
        Stmt ins(db_, "INSERT INTO failed_attempts (key, at_unix_ms) VALUES (?1, ?2)");
        ins.bind(1, key).bind(2, now_ms);
        ins.run();
        Stmt count(db_, "SELECT count(*) FROM failed_attempts WHERE key = ?1");
        count.bind(1, key);
        count.step();
        std::int64_t until = 0;
        if (count.i64(0) >= rule.failures) {
            until = now_ms + rule.lock_ms;
            Stmt lock(db_,
                      "INSERT INTO lockouts (key, until_unix_ms) VALUES (?1, ?2)"
                      " ON CONFLICT (key) DO UPDATE SET until_unix_ms = max(until_unix_ms, excluded.until_unix_ms)");
            lock.bind(1, key).bind(2, until);
            lock.run();
            Stmt forget(db_, "DELETE FROM failed_attempts WHERE key = ?1");
            forget.bind(1, key);
            forget.run();
        }
        tx.commit();
        return until;
    }

    std::int64_t locked_until(const std::string& key, std::int64_t now_ms) override {
        Stmt q(db_, "SELECT until_unix_ms FROM lockouts WHERE key = ?1 AND until_unix_ms > ?2");
        q.bind(1, key).bind(2, now_ms);
        return q.step() ? q.i64(0) : 0;
    }

    void clear_failures(const std::string& key) override {
        Stmt q(db_, "DELETE FROM failed_attempts WHERE key = ?1");
        q.bind(1, key);
        q.run();
    }

    void create_session(const LivenessSessionRecord& r) override {
        store_detail::check_new_session(r);
        Stmt q(db_, "INSERT INTO liveness_sessions (" SESSION_COLUMNS
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL)");
        q.bind(1, r.id).bind(2, r.tenant).bind(3, r.subject).bind(4, r.key_id).bind(5, r.mode).bind(6, r.challenge);
        q.bind(7, r.token_hash).bind(8, r.created_unix_ms).bind(9, r.expires_unix_ms).bind(10, r.state);
        q.bind(11, r.result).bind(12, r.probe_key_id);
        q.run();
    }

    std::optional<LivenessSessionRecord> find_session(const std::string& id) override {
        Stmt q(db_, "SELECT " SESSION_COLUMNS " FROM liveness_sessions WHERE id = ?1");
        q.bind(1, id);
        if (!q.step()) return std::nullopt;
        return read_session(q);
    }

    bool advance_session(const std::string& id, const std::string& from, const std::string& to,
                         std::int64_t now_ms) override {
        Stmt q(db_, "UPDATE liveness_sessions SET state = ?3 WHERE id = ?1 AND state = ?2"
                    " AND (?2 <> 'open' OR expires_unix_ms > ?4)");
        q.bind(1, id).bind(2, from).bind(3, to).bind(4, now_ms);
        q.run();
        return sqlite3_changes(db_) > 0;
    }

    void finish_session(const std::string& id, const std::string& state, const std::string& result,
                        const std::string& probe_key_id, const std::vector<std::uint8_t>& sealed_probe) override {
        store_detail::check_session_outcome(state);
        Stmt q(db_, "UPDATE liveness_sessions SET state = ?2, result = ?3, probe_key_id = ?4, sealed_probe = ?5"
                    " WHERE id = ?1 AND state = 'capturing'");
        q.bind(1, id).bind(2, state).bind(3, result).bind(4, probe_key_id).bind_optional(5, sealed_probe);
        q.run();
        if (sqlite3_changes(db_) == 0)
            throw Error(ErrorCode::conflict, "store: liveness session " + id + " is not being captured");
    }

    std::optional<LivenessSessionRecord> take_session_probe(const std::string& id) override {
        Tx tx(db_);
        std::optional<LivenessSessionRecord> found = find_session(id);
        if (!found || found->state != "decided" || found->sealed_probe.empty()) return std::nullopt;
        Stmt q(db_, "UPDATE liveness_sessions SET state = 'used', sealed_probe = NULL, probe_key_id = ''"
                    " WHERE id = ?1 AND state = 'decided'");
        q.bind(1, id);
        q.run();
        tx.commit();
        return found;
    }

    std::int64_t purge_sessions(std::int64_t before_unix_ms) override {
        Stmt q(db_, "DELETE FROM liveness_sessions WHERE expires_unix_ms < ?1");
        q.bind(1, before_unix_ms);
        q.run();
        return sqlite3_changes(db_);
    }

private:
    // Switching a new database to WAL needs an exclusive lock, and SQLite answers BUSY at once
    // (without the busy handler) when several processes open a fresh file together: retry.
    void configure() {
        static constexpr const char* kPragmas =
            "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
        for (;;) {
            const int rc = sqlite3_exec(db_, kPragmas, nullptr, nullptr, nullptr);
            if (rc == SQLITE_OK) return;
            if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) fail(db_, "configure connection");
            if (std::chrono::steady_clock::now() > deadline) fail(db_, "configure connection");
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    void migrate() {
        Tx tx(db_);
        exec(db_,
             "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
             " applied_at TEXT NOT NULL)",
             "create schema_migrations");
        for (const auto& m : detail::sqlite::kMigrations) {
            const std::int64_t version = std::strtoll(std::string(m.name).c_str(), nullptr, 10);
            if (version <= 0)
                throw Error(ErrorCode::internal, "store: migration " + std::string(m.name) + " has no version number");
            Stmt q(db_, "SELECT 1 FROM schema_migrations WHERE version = ?1");
            q.bind(1, version);
            if (q.step()) continue;
            exec(db_, std::string(m.sql).c_str(), "migration " + std::string(m.name));
            Stmt ins(db_, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)");
            ins.bind(1, version).bind(2, std::string(m.name)).bind(3, now_rfc3339());
            ins.run();
        }
        tx.commit();
    }

    std::optional<std::int64_t> subject_id(const std::string& tenant, const std::string& reference) {
        Stmt q(db_, "SELECT id FROM subjects WHERE tenant = ?1 AND reference = ?2");
        q.bind(1, tenant).bind(2, reference);
        if (!q.step()) return std::nullopt;
        return q.i64(0);
    }

    void record_change(const std::string& tenant, const std::string& reference) {
        Stmt q(db_, "INSERT INTO subject_changes (tenant, reference, changed_at) VALUES (?1, ?2, ?3)");
        q.bind(1, tenant).bind(2, reference).bind(3, now_rfc3339());
        q.run();
    }

    static LivenessSessionRecord read_session(const Stmt& q) {
        LivenessSessionRecord r;
        r.id = q.text(0), r.tenant = q.text(1), r.subject = q.text(2), r.key_id = q.text(3), r.mode = q.text(4);
        r.challenge = q.text(5), r.token_hash = q.text(6), r.created_unix_ms = q.i64(7), r.expires_unix_ms = q.i64(8);
        r.state = q.text(9), r.result = q.text(10), r.probe_key_id = q.text(11), r.sealed_probe = q.blob(12);
        return r;
    }

    static ApiKeyRecord read_api_key(const Stmt& q) {
        return ApiKeyRecord{q.text(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5)};
    }

    void delete_subject(std::int64_t id) {
        for (const char* sql : {"DELETE FROM templates WHERE subject_id = ?1", "DELETE FROM consents WHERE subject_id = ?1",
                                "DELETE FROM subjects WHERE id = ?1"}) {
            Stmt d(db_, sql);
            d.bind(1, id);
            d.run();
        }
    }

    std::int64_t insert_template(std::int64_t subject, const TemplateRecord& t) {
        if (t.model_id.empty() || t.key_id.empty() || t.sealed.empty())
            throw Error(ErrorCode::invalid_argument, "store: a template needs model_id, key_id and sealed bytes");
        Stmt q(db_,
               "INSERT INTO templates (subject_id, model_id, quality_score, created_at, key_id, sealed, sealed_image)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        q.bind(1, subject).bind(2, t.model_id).bind(3, t.quality_score).bind(4, or_now(t.created_at));
        q.bind(5, t.key_id).bind(6, t.sealed).bind_optional(7, t.sealed_image);
        q.run();
        return sqlite3_last_insert_rowid(db_);
    }

    static TemplateRecord read_template(const Stmt& q, int c) {
        return TemplateRecord{q.i64(c),     q.text(c + 1), q.dbl(c + 2), q.text(c + 3),
                              q.text(c + 4), q.blob(c + 5), q.blob(c + 6)};
    }
    static AuditRow read_audit(const Stmt& q) {
        return AuditRow{q.i64(0), q.text(1), q.text(2), q.text(3), q.text(4),
                        q.text(5), q.text(6), q.text(7), q.text(8), q.text(9)};
    }

    sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<Store> open_sqlite(const std::string& path) { return std::make_unique<SqliteStore>(path); }

}  // namespace faceproof::store_detail
