#include "store/postgres/postgres_store.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "faceproof/error.hpp"
#include "postgres_migrations_data.hpp"
#include "store/record_checks.hpp"
#include "store/rfc3339.hpp"

namespace faceproof::store_detail {
namespace {

constexpr int kResealBatch = 256;
constexpr std::int64_t kMigrationLock = 0x6661636570726f66;   // "faceprof": one key for every node
constexpr std::int64_t kChangeFeedLock = 0x6661636566656564;  // "facefeed"
constexpr std::int64_t kChangesKept = 10000;                  // vacuum() prunes older feed entries
constexpr const char* kConnectTimeoutSeconds = "10";  // libpq's default is to wait forever
constexpr int kMinServerVersion = 110000;              // EXECUTE FUNCTION in triggers

// Type OIDs of bound parameters (fixed in pg_type since PostgreSQL 7).
constexpr Oid kBytea = 17, kInt8 = 20, kText = 25, kFloat8 = 701;
constexpr std::string_view kUniqueViolation = "23505";
constexpr std::string_view kInsufficientPrivilege = "42501";

#define API_KEY_COLUMNS "id, tenant, role, secret_hash, created_at, revoked_at"
#define SESSION_COLUMNS                                                                                     \
    "id, tenant, subject, key_id, mode, challenge, token_hash, created_unix_ms, expires_unix_ms, state, result, " \
    "probe_key_id, sealed_probe"
#define AUDIT_COLUMNS "sequence, time, tenant, actor, action, subject, outcome, details_json, previous_hash, hash"
#define TEMPLATE_COLUMNS "t.id, t.model_id, t.quality_score, t.created_at, t.key_id, t.sealed, t.sealed_image"

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
    return s;
}

// Every form a password can take in a connection string, so none reaches an error message — even
// from a URI that libpq cannot parse (it may quote the offending part).
std::vector<std::string> passwords_in(const std::string& url) {
    std::vector<std::string> out;
    char* err = nullptr;
    if (PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err)) {
        for (const PQconninfoOption* o = opts; o->keyword; ++o)
            if (std::strcmp(o->keyword, "password") == 0 && o->val) out.emplace_back(o->val);
        PQconninfoFree(opts);
    }
    PQfreemem(err);
    // "scheme://user:PASSWORD@host…" as written
    if (const auto scheme = url.find("://"); scheme != std::string::npos) {
        const auto start = scheme + 3;
        const auto at = url.find('@', start);
        const auto colon = url.find(':', start);
        if (at != std::string::npos && colon < at && url.find_first_of("/?", start) > at)
            out.push_back(url.substr(colon + 1, at - colon - 1));
    }
    // "password=PASSWORD" in a URI query or a key=value string
    for (auto p = url.find("password="); p != std::string::npos; p = url.find("password=", p + 1)) {
        const auto value = p + 9;
        const auto end = url.find_first_of("& ", value);
        out.push_back(url.substr(value, end == std::string::npos ? std::string::npos : end - value));
    }
    std::erase_if(out, [](const std::string& s) { return s.empty(); });
    return out;
}

std::string scrubbed(std::string message, const std::vector<std::string>& secrets) {
    for (const auto& secret : secrets)
        for (auto p = message.find(secret); p != std::string::npos; p = message.find(secret, p))
            message.replace(p, secret.size(), "********");
    return message;
}

void put_big_endian(std::string& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Parameters of one statement. Numbers and bytea go in binary (no text escaping of ciphertext);
// text as text. Each value is typed, so the server never has to guess.
class Params {
public:
    Params& text(std::string v) { return add(kText, 0, std::move(v)); }
    Params& i64(std::int64_t v) {
        std::string b;
        put_big_endian(b, static_cast<std::uint64_t>(v));
        return add(kInt8, 1, std::move(b));
    }
    Params& f64(double v) {
        std::string b;
        put_big_endian(b, std::bit_cast<std::uint64_t>(v));
        return add(kFloat8, 1, std::move(b));
    }
    Params& bytes(const std::vector<std::uint8_t>& v) { return add(kBytea, 1, std::string(v.begin(), v.end())); }
    // An empty vector binds NULL (no retained image).
    Params& bytes_or_null(const std::vector<std::uint8_t>& v) { return v.empty() ? null(kBytea) : bytes(v); }
    Params& null(Oid type) { return add(type, 1, std::nullopt); }

    int size() const { return static_cast<int>(values_.size()); }
    const Oid* types() const { return types_.data(); }
    const int* formats() const { return formats_.data(); }
    // Pointers into this object: valid while it lives and is not changed.
    std::vector<const char*> pointers() const {
        std::vector<const char*> out;
        for (const auto& v : values_) out.push_back(v ? v->data() : nullptr);
        return out;
    }
    std::vector<int> lengths() const {
        std::vector<int> out;
        for (const auto& v : values_) out.push_back(v ? static_cast<int>(v->size()) : 0);
        return out;
    }

private:
    Params& add(Oid type, int format, std::optional<std::string> value) {
        types_.push_back(type);
        formats_.push_back(format);
        values_.push_back(std::move(value));
        return *this;
    }
    std::vector<Oid> types_;
    std::vector<int> formats_;
    std::vector<std::optional<std::string>> values_;
};

// A PGresult with typed readers for binary-format columns.
class Result {
public:
    explicit Result(PGresult* r) : r_(r) {}
    ~Result() { PQclear(r_); }
    Result(Result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    Result& operator=(Result&&) = delete;

    const PGresult* get() const { return r_; }
    bool ok() const {
        const auto s = r_ ? PQresultStatus(r_) : PGRES_FATAL_ERROR;
        return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
    }
    std::string_view sqlstate() const {
        const char* s = r_ ? PQresultErrorField(r_, PG_DIAG_SQLSTATE) : nullptr;
        return s ? s : "";
    }
    int rows() const { return PQntuples(r_); }
    std::int64_t affected() const { return std::strtoll(PQcmdTuples(r_), nullptr, 10); }
    bool null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }

    std::string text(int row, int col) const {
        return null(row, col) ? std::string() : std::string(PQgetvalue(r_, row, col), len(row, col));
    }
    std::vector<std::uint8_t> bytes(int row, int col) const {
        if (null(row, col)) return {};
        const auto* p = reinterpret_cast<const std::uint8_t*>(PQgetvalue(r_, row, col));
        return {p, p + len(row, col)};
    }
    std::int64_t i64(int row, int col) const { return static_cast<std::int64_t>(u64(row, col)); }
    double f64(int row, int col) const { return std::bit_cast<double>(u64(row, col)); }

private:
    std::size_t len(int row, int col) const { return static_cast<std::size_t>(PQgetlength(r_, row, col)); }
    std::uint64_t u64(int row, int col) const {
        if (null(row, col) || len(row, col) != 8)
            throw Error(ErrorCode::store_error, "store: unexpected NULL or non-8-byte value in column " +
                                                    std::string(PQfname(r_, col)));
        const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col));
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
        return v;
    }
    PGresult* r_;
};

// One server connection. Every statement with values goes through exec() (bound parameters).
class Connection {
public:
    explicit Connection(const std::string& url) {
        // Our defaults come before the URI (expand_dbname): the URI and PG* variables override them.
        std::vector<const char*> keys, values;
        if (!std::getenv("PGCONNECT_TIMEOUT")) {
            keys.push_back("connect_timeout");
            values.push_back(kConnectTimeoutSeconds);
        }
        if (!std::getenv("PGCLIENTENCODING")) {
            keys.push_back("client_encoding");
            values.push_back("UTF8");
        }
        keys.push_back("fallback_application_name");
        values.push_back("faceproof");
        keys.push_back("dbname");
        values.push_back(url.c_str());
        keys.push_back(nullptr);
        values.push_back(nullptr);
        conn_ = PQconnectdbParams(keys.data(), values.data(), 1);
        if (!conn_) throw Error(ErrorCode::store_error, "store: cannot connect to PostgreSQL: out of memory");
        if (PQstatus(conn_) != CONNECTION_OK) {
            const std::string msg = scrubbed(trimmed(PQerrorMessage(conn_)), passwords_in(url));
            PQfinish(conn_);
            throw Error(ErrorCode::store_error, "store: cannot connect to PostgreSQL: " + msg);
        }
        PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);  // "already exists, skipping" etc.
        if (PQserverVersion(conn_) < kMinServerVersion) {
            PQfinish(conn_);
            throw Error(ErrorCode::store_error, "store: PostgreSQL 11 or later is required");
        }
    }
    ~Connection() { PQfinish(conn_); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Before each operation: a connection the server dropped (restart, failover) is reopened once,
    // and a transaction left open by a failure is rolled back — unless the operation is part of a
    // transaction of ours (Store::transaction), which cannot survive a lost connection.
    void ready() {
        if (depth_ > 0) {
            if (PQstatus(conn_) == CONNECTION_BAD)
                throw Error(ErrorCode::store_error, "store: PostgreSQL connection lost during a transaction");
            return;
        }
        if (PQstatus(conn_) == CONNECTION_BAD) {
            PQreset(conn_);
            if (PQstatus(conn_) != CONNECTION_OK)
                throw Error(ErrorCode::store_error,
                            "store: PostgreSQL connection lost: " + trimmed(PQerrorMessage(conn_)));
        }
        if (PQtransactionStatus(conn_) != PQTRANS_IDLE) rollback_quietly();
    }

    // A statement with bound parameters; results in binary format.
    Result exec(const char* what, const char* sql, const Params& p = Params()) {
        const auto values = p.pointers();
        const auto lengths = p.lengths();
        Result r(PQexecParams(conn_, sql, p.size(), p.types(), values.data(), lengths.data(), p.formats(), 1));
        check(r, what);
        return r;
    }
    // A constant command, possibly several statements (migrations); no parameters, nothing spliced.
    Result command_unchecked(const char* sql) { return Result(PQexec(conn_, sql)); }
    void command(std::string_view what, const char* sql) { check(command_unchecked(sql), what); }

    void check(const Result& r, std::string_view what) {
        if (r.ok()) return;
        std::string msg;
        if (const char* primary = r.get() ? PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr) {
            msg = primary;
            if (const char* detail = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_DETAIL)) msg += " (" + std::string(detail) + ")";
        } else {
            msg = trimmed(PQerrorMessage(conn_));
        }
        throw Error(r.sqlstate() == kUniqueViolation ? ErrorCode::conflict : ErrorCode::store_error,
                    "store: " + std::string(what) + ": " + msg);
    }
    void rollback_quietly() { PQclear(PQexec(conn_, "ROLLBACK")); }
    void command_quietly(const char* sql) { PQclear(PQexec(conn_, sql)); }
    int& depth() { return depth_; }  // transactions of ours open on this connection (Tx)

private:
    PGconn* conn_ = nullptr;
    int depth_ = 0;
};

// A transaction that rolls back unless committed; inside one of ours, a savepoint (Store::transaction
// nests every call made in it).
class Tx {
public:
    explicit Tx(Connection& c, const char* begin = "BEGIN") : c_(c), nested_(c.depth() > 0) {
        c_.command("begin transaction", nested_ ? "SAVEPOINT fp_nested" : begin);
        ++c_.depth();
    }
    ~Tx() {
        if (done_) return;
        --c_.depth();
        if (nested_) c_.command_quietly("ROLLBACK TO SAVEPOINT fp_nested; RELEASE SAVEPOINT fp_nested");
        else c_.rollback_quietly();
    }
    Tx(const Tx&) = delete;
    Tx& operator=(const Tx&) = delete;
    void commit() {
        done_ = true;  // a failed COMMIT has ended the transaction too
        --c_.depth();
        c_.command("commit", nested_ ? "RELEASE SAVEPOINT fp_nested" : "COMMIT");
    }

private:
    Connection& c_;
    const bool nested_;
    bool done_ = false;
};

// The advisory-lock key of a Store::transaction scope: 64 bits of a keyed-free hash of the name.
// A collision only makes two scopes wait for each other.
std::int64_t lock_key(const std::string& scope) {
    std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (const char c : "faceproof/" + scope) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    return static_cast<std::int64_t>(h);
}

void require_template(const TemplateRecord& t) {
    if (t.model_id.empty() || t.key_id.empty() || t.sealed.empty())
        throw Error(ErrorCode::invalid_argument, "store: a template needs model_id, key_id and sealed bytes");
}



TemplateRecord read_template(const Result& r, int row, int c) {
    return TemplateRecord{r.i64(row, c),      r.text(row, c + 1), r.f64(row, c + 2), r.text(row, c + 3),
                          r.text(row, c + 4), r.bytes(row, c + 5), r.bytes(row, c + 6)};
}

ApiKeyRecord read_api_key(const Result& r, int row) {
    return ApiKeyRecord{r.text(row, 0), r.text(row, 1), r.text(row, 2), r.text(row, 3), r.text(row, 4), r.text(row, 5)};
}

LivenessSessionRecord read_session(const Result& r) {
    LivenessSessionRecord s;
    s.id = r.text(0, 0), s.tenant = r.text(0, 1), s.subject = r.text(0, 2), s.key_id = r.text(0, 3);
    s.mode = r.text(0, 4), s.challenge = r.text(0, 5), s.token_hash = r.text(0, 6);
    s.created_unix_ms = r.i64(0, 7), s.expires_unix_ms = r.i64(0, 8), s.state = r.text(0, 9), s.result = r.text(0, 10);
    s.probe_key_id = r.text(0, 11), s.sealed_probe = r.bytes(0, 12);
    return s;
}

AuditRow read_audit(const Result& r, int row) {
    return AuditRow{r.i64(row, 0),  r.text(row, 1), r.text(row, 2), r.text(row, 3), r.text(row, 4),
                    r.text(row, 5), r.text(row, 6), r.text(row, 7), r.text(row, 8), r.text(row, 9)};
}

class PostgresStore final : public Store {
public:
    explicit PostgresStore(const std::string& url) : db_(url) { migrate(); }

    void enrol(const Subject& s) override {
        require_key(s.tenant, s.reference);
        const std::int64_t expires_ms = check_consent(s.consent);
        for (const auto& t : s.templates) require_template(t);
        db_.ready();
        Tx tx(db_);
        // The unique constraint also turns a concurrent duplicate into conflict (23505).
        if (subject_id(s.tenant, s.reference, false))
            throw Error(ErrorCode::conflict, "store: subject " + s.tenant + "/" + s.reference + " exists already");
        const std::string created = or_now(s.created_at);
        const std::int64_t id =
            db_.exec("insert subject",
                     "INSERT INTO subjects (tenant, reference, created_at, updated_at) VALUES ($1, $2, $3, $4)"
                     " RETURNING id",
                     Params().text(s.tenant).text(s.reference).text(created).text(
                         s.updated_at.empty() ? created : s.updated_at))
                .i64(0, 0);
        db_.exec("insert consent",
                 "INSERT INTO consents (subject_id, purpose, legal_basis, notice_version, given_at, expires_at,"
                 " expires_unix_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 Params().i64(id).text(s.consent.purpose).text(s.consent.legal_basis).text(s.consent.notice_version)
                     .text(s.consent.given_at).text(s.consent.expires_at).i64(expires_ms));
        for (const auto& t : s.templates) insert_template(id, t);
        record_change(s.tenant, s.reference);
        tx.commit();
    }

    std::int64_t add_template(const std::string& tenant, const std::string& reference,
                              const TemplateRecord& t) override {
        require_key(tenant, reference);
        require_template(t);
        db_.ready();
        Tx tx(db_);
        // Row lock: a concurrent remove() waits for us, or has already won and we report not_found.
        const auto id = subject_id(tenant, reference, true);
        if (!id) throw Error(ErrorCode::not_found, "store: no subject " + tenant + "/" + reference);
        const std::int64_t tid = insert_template(*id, t);
        db_.exec("touch subject", "UPDATE subjects SET updated_at = $1 WHERE id = $2",
                 Params().text(now_rfc3339()).i64(*id));
        record_change(tenant, reference);
        tx.commit();
        return tid;
    }

    std::optional<Subject> find(const std::string& tenant, const std::string& reference) override {
        db_.ready();
        // One statement = one snapshot: subject, consent and templates are consistent.
        const Result r = db_.exec(
            "find subject",
            "SELECT s.created_at, s.updated_at, c.purpose, c.legal_basis, c.notice_version, c.given_at, c.expires_at, "
            TEMPLATE_COLUMNS " FROM subjects s LEFT JOIN consents c ON c.subject_id = s.id"
            " LEFT JOIN templates t ON t.subject_id = s.id WHERE s.tenant = $1 AND s.reference = $2 ORDER BY t.id",
            Params().text(tenant).text(reference));
        if (r.rows() == 0) return std::nullopt;
        Subject s;
        s.tenant = tenant;
        s.reference = reference;
        s.created_at = r.text(0, 0);
        s.updated_at = r.text(0, 1);
        s.consent = Consent{r.text(0, 2), r.text(0, 3), r.text(0, 4), r.text(0, 5), r.text(0, 6)};
        for (int row = 0; row < r.rows(); ++row)
            if (!r.null(row, 7)) s.templates.push_back(read_template(r, row, 7));
        return s;
    }

    std::vector<std::string> list(const std::string& tenant, std::int64_t limit, std::int64_t offset) override {
        if (limit < 0 || offset < 0) throw Error(ErrorCode::invalid_argument, "store: limit and offset must be >= 0");
        db_.ready();
        const Result r = db_.exec("list subjects",
                                  "SELECT reference FROM subjects WHERE tenant = $1 ORDER BY reference LIMIT $2 OFFSET $3",
                                  Params().text(tenant).i64(limit).i64(offset));
        std::vector<std::string> out;
        for (int row = 0; row < r.rows(); ++row) out.push_back(r.text(row, 0));
        return out;
    }

    bool remove(const std::string& tenant, const std::string& reference) override {
        db_.ready();
        Tx tx(db_);
        // ON DELETE CASCADE (always enforced here) takes consent and templates.
        if (db_.exec("remove subject", "DELETE FROM subjects WHERE tenant = $1 AND reference = $2",
                     Params().text(tenant).text(reference))
                .affected() == 0)
            return false;
        record_change(tenant, reference);
        tx.commit();
        return true;
    }

    std::vector<std::string> purge_expired(const std::string& now) override {
        const auto now_ms = parse_rfc3339_ms(now);
        if (!now_ms) throw Error(ErrorCode::invalid_argument, "store: purge_expired: now must be RFC 3339");
        db_.ready();
        Tx tx(db_);
        const Result r = db_.exec("purge expired",
                                  "DELETE FROM subjects s WHERE NOT EXISTS (SELECT 1 FROM consents c"
                                  " WHERE c.subject_id = s.id AND c.expires_unix_ms > $1) RETURNING s.tenant, s.reference",
                                  Params().i64(*now_ms));
        std::vector<std::pair<std::string, std::string>> keys;
        for (int row = 0; row < r.rows(); ++row) keys.emplace_back(r.text(row, 0), r.text(row, 1));
        std::sort(keys.begin(), keys.end());  // RETURNING has no order; bytewise like COLLATE "C"
        std::vector<std::string> out;
        for (const auto& [tenant, reference] : keys) {
            record_change(tenant, reference);
            out.push_back(tenant + "/" + reference);
        }
        tx.commit();
        return out;
    }

    std::vector<std::pair<SubjectKey, TemplateRecord>> all_templates(const std::string& tenant) override {
        db_.ready();
        const Result r = db_.exec("list templates",
                                  "SELECT s.reference, " TEMPLATE_COLUMNS " FROM templates t JOIN subjects s"
                                  " ON s.id = t.subject_id WHERE s.tenant = $1 ORDER BY t.id",
                                  Params().text(tenant));
        std::vector<std::pair<SubjectKey, TemplateRecord>> out;
        for (int row = 0; row < r.rows(); ++row)
            out.emplace_back(SubjectKey{tenant, r.text(row, 0)}, read_template(r, row, 1));
        return out;
    }

    void reseal_templates(const std::function<void(const SubjectKey&, TemplateRecord&)>& reseal) override {
        db_.ready();
        std::int64_t after = 0;
        for (;;) {
            Tx tx(db_);
            // FOR UPDATE: the batch cannot change under us; readers are not blocked (MVCC).
            const Result q = db_.exec("reseal: read batch",
                                      "SELECT s.tenant, s.reference, " TEMPLATE_COLUMNS " FROM templates t JOIN subjects s"
                                      " ON s.id = t.subject_id WHERE t.id > $1 ORDER BY t.id LIMIT $2 FOR UPDATE OF t",
                                      Params().i64(after).i64(kResealBatch));
            if (q.rows() == 0) return;
            for (int row = 0; row < q.rows(); ++row) {
                const SubjectKey owner{q.text(row, 0), q.text(row, 1)};
                TemplateRecord t = read_template(q, row, 2);
                const std::int64_t id = t.id;
                reseal(owner, t);
                if (t.key_id.empty() || t.sealed.empty())
                    throw Error(ErrorCode::invalid_argument, "store: reseal left an empty key id or template");
                db_.exec("reseal: write", "UPDATE templates SET sealed = $1, key_id = $2, sealed_image = $3 WHERE id = $4",
                         Params().bytes(t.sealed).text(t.key_id).bytes_or_null(t.sealed_image).i64(id));
                after = id;
            }
            tx.commit();
        }
    }

    void append_audit(const AuditRow& r) override {
        if (r.sequence < 0) throw Error(ErrorCode::invalid_argument, "store: audit sequence must be >= 0");
        db_.ready();
        Params p;
        if (r.sequence > 0) p.i64(r.sequence);
        else p.null(kInt8);  // next = max + 1; a concurrent writer taking it too gets conflict (23505)
        p.text(or_now(r.time)).text(r.tenant).text(r.actor).text(r.action).text(r.subject).text(r.outcome);
        p.text(r.details_json.empty() ? std::string("{}") : r.details_json).text(r.previous_hash).text(r.hash);
        db_.exec("append audit",
                 "INSERT INTO audit (" AUDIT_COLUMNS ") VALUES (COALESCE($1, (SELECT COALESCE(max(sequence), 0) + 1"
                 " FROM audit)), $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                 p);
    }

    std::vector<AuditRow> audit(const std::optional<std::string>& tenant, std::int64_t after_sequence,
                                std::int64_t limit) override {
        if (limit < 0) throw Error(ErrorCode::invalid_argument, "store: limit must be >= 0");
        db_.ready();
        Params p;
        p.i64(after_sequence).i64(limit);
        if (tenant) p.text(*tenant);
        const Result r = db_.exec("read audit",
                                  tenant ? "SELECT " AUDIT_COLUMNS " FROM audit WHERE sequence > $1 AND tenant = $3"
                                           " ORDER BY sequence LIMIT $2"
                                         : "SELECT " AUDIT_COLUMNS " FROM audit WHERE sequence > $1"
                                           " ORDER BY sequence LIMIT $2",
                                  p);
        std::vector<AuditRow> out;
        for (int row = 0; row < r.rows(); ++row) out.push_back(read_audit(r, row));
        return out;
    }

    std::optional<AuditRow> last_audit() override {
        db_.ready();
        const Result r = db_.exec("read audit", "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY sequence DESC LIMIT 1");
        if (r.rows() == 0) return std::nullopt;
        return read_audit(r, 0);
    }

    void add_api_key(const ApiKeyRecord& k) override {
        if (k.id.empty() || k.tenant.empty() || k.secret_hash.empty() || (k.role != "operator" && k.role != "admin"))
            throw Error(ErrorCode::invalid_argument, "store: an API key needs id, tenant, secret hash and role operator|admin");
        db_.ready();
        db_.exec("add API key",
                 "INSERT INTO api_keys (" API_KEY_COLUMNS ") VALUES ($1, $2, $3, $4, $5, NULL)",
                 Params().text(k.id).text(k.tenant).text(k.role).text(k.secret_hash).text(or_now(k.created_at)));
    }

    std::optional<ApiKeyRecord> find_api_key(const std::string& id) override {
        db_.ready();
        const Result r = db_.exec("find API key", "SELECT " API_KEY_COLUMNS " FROM api_keys WHERE id = $1",
                                  Params().text(id));
        if (r.rows() == 0) return std::nullopt;
        return read_api_key(r, 0);
    }

    std::vector<ApiKeyRecord> list_api_keys(const std::optional<std::string>& tenant) override {
        db_.ready();
        Params p;
        if (tenant) p.text(*tenant);
        const Result r = db_.exec("list API keys",
                                  tenant ? "SELECT " API_KEY_COLUMNS " FROM api_keys WHERE tenant = $1 ORDER BY created_at, id"
                                         : "SELECT " API_KEY_COLUMNS " FROM api_keys ORDER BY created_at, id",
                                  p);
        std::vector<ApiKeyRecord> out;
        for (int row = 0; row < r.rows(); ++row) out.push_back(read_api_key(r, row));
        return out;
    }

    bool revoke_api_key(const std::string& id, const std::string& at) override {
        if (!parse_rfc3339_ms(at)) throw Error(ErrorCode::invalid_argument, "store: revoke_api_key: at must be RFC 3339");
        db_.ready();
        return db_.exec("revoke API key", "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                        Params().text(at).text(id))
                   .affected() > 0;
    }

    std::vector<SubjectChange> changes_since(std::int64_t after, std::int64_t limit) override {
        if (limit < 0) throw Error(ErrorCode::invalid_argument, "store: limit must be >= 0");
        db_.ready();
        const Result r = db_.exec("read changes",
                                  "SELECT sequence, tenant, reference FROM subject_changes WHERE sequence > $1"
                                  " ORDER BY sequence LIMIT $2",
                                  Params().i64(after).i64(limit));
        std::vector<SubjectChange> out;
        for (int row = 0; row < r.rows(); ++row) out.push_back({r.i64(row, 0), r.text(row, 1), r.text(row, 2)});
        return out;
    }

    std::int64_t last_change() override {
        db_.ready();
        // vacuum() never prunes the newest entry, so max() only grows.
        return db_.exec("read changes", "SELECT COALESCE(max(sequence), 0) FROM subject_changes").i64(0, 0);
    }

    void transaction(const std::string& scope, const std::function<void()>& work) override {
        db_.ready();
        Tx tx(db_);
        db_.exec("transaction lock", "SELECT pg_advisory_xact_lock($1)", Params().i64(lock_key(scope)));
        work();
        tx.commit();
    }

    bool erase_deleted() override { return false; }  // only vacuum() can (postgres_store.hpp)

    std::int64_t record_failure(const std::string& key, std::int64_t now_ms, const LockoutRule& rule) override {
        check_lockout_rule(key, rule);
        db_.ready();
        Tx tx(db_);
        db_.exec("lockout lock", "SELECT pg_advisory_xact_lock($1)", Params().i64(lock_key("lockout:" + key)));
        db_.exec("forget attempts",
                 "DELETE FROM failed_attempts WHERE at_unix_ms <= $1 OR (key = $2 AND at_unix_ms <= $3)",
                 Params().i64(now_ms - kLongestLockoutWindowMs).text(key).i64(now_ms - rule.window_ms));
        db_.exec("forget lockouts", "DELETE FROM lockouts WHERE until_unix_ms <= $1", Params().i64(now_ms));
        db_.exec("record attempt", "INSERT INTO failed_attempts (key, at_unix_ms) VALUES ($1, $2)",
                 Params().text(key).i64(now_ms));
        const std::int64_t failures =
            db_.exec("count attempts", "SELECT count(*) FROM failed_attempts WHERE key = $1", Params().text(key)).i64(0, 0);
        std::int64_t until = 0;
        if (failures >= rule.failures) {
            until = now_ms + rule.lock_ms;
            db_.exec("lock out",
                     "INSERT INTO lockouts (key, until_unix_ms) VALUES ($1, $2) ON CONFLICT (key)"
                     " DO UPDATE SET until_unix_ms = GREATEST(lockouts.until_unix_ms, excluded.until_unix_ms)",
                     Params().text(key).i64(until));
            db_.exec("forget attempts", "DELETE FROM failed_attempts WHERE key = $1", Params().text(key));
        }
        tx.commit();
        return until;
    }

    std::int64_t locked_until(const std::string& key, std::int64_t now_ms) override {
        db_.ready();
        const Result r = db_.exec("read lockout", "SELECT until_unix_ms FROM lockouts WHERE key = $1 AND until_unix_ms > $2",
                                  Params().text(key).i64(now_ms));
        return r.rows() ? r.i64(0, 0) : 0;
    }

    void clear_failures(const std::string& key) override {
        db_.ready();
        db_.exec("forget attempts", "DELETE FROM failed_attempts WHERE key = $1", Params().text(key));
    }

    void create_session(const LivenessSessionRecord& r) override {
        store_detail::check_new_session(r);
        db_.ready();
        db_.exec("create liveness session",
                 "INSERT INTO liveness_sessions (" SESSION_COLUMNS
                 ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL)",
                 Params().text(r.id).text(r.tenant).text(r.subject).text(r.key_id).text(r.mode).text(r.challenge)
                     .text(r.token_hash).i64(r.created_unix_ms).i64(r.expires_unix_ms).text(r.state).text(r.result)
                     .text(r.probe_key_id));
    }

    std::optional<LivenessSessionRecord> find_session(const std::string& id) override {
        db_.ready();
        const Result r = db_.exec("read liveness session", "SELECT " SESSION_COLUMNS " FROM liveness_sessions WHERE id = $1",
                                  Params().text(id));
        if (r.rows() == 0) return std::nullopt;
        return read_session(r);
    }

    bool advance_session(const std::string& id, const std::string& from, const std::string& to,
                         std::int64_t now_ms) override {
        db_.ready();
        return db_.exec("advance liveness session",
                        "UPDATE liveness_sessions SET state = $3 WHERE id = $1 AND state = $2"
                        " AND ($2 <> 'open' OR expires_unix_ms > $4)",
                        Params().text(id).text(from).text(to).i64(now_ms))
                   .affected() > 0;
    }

    void finish_session(const std::string& id, const std::string& state, const std::string& result,
                        const std::string& probe_key_id, const std::vector<std::uint8_t>& sealed_probe) override {
        store_detail::check_session_outcome(state);
        db_.ready();
        if (db_.exec("finish liveness session",
                     "UPDATE liveness_sessions SET state = $2, result = $3, probe_key_id = $4, sealed_probe = $5"
                     " WHERE id = $1 AND state = 'capturing'",
                     Params().text(id).text(state).text(result).text(probe_key_id).bytes_or_null(sealed_probe))
                .affected() == 0)
            throw Error(ErrorCode::conflict, "store: liveness session " + id + " is not being captured");
    }

    std::optional<LivenessSessionRecord> take_session_probe(const std::string& id) override {
        db_.ready();
        // The old row, returned by the update that consumes it: one statement, so two racing
        // verifications cannot both take the probe.
        const Result r = db_.exec(
            "take liveness session probe",
            "WITH old AS (SELECT " SESSION_COLUMNS " FROM liveness_sessions WHERE id = $1 AND state = 'decided'"
            " AND sealed_probe IS NOT NULL FOR UPDATE)"
            " UPDATE liveness_sessions s SET state = 'used', sealed_probe = NULL, probe_key_id = '' FROM old"
            " WHERE s.id = old.id AND s.state = 'decided'"
            " RETURNING old.id, old.tenant, old.subject, old.key_id, old.mode, old.challenge, old.token_hash,"
            " old.created_unix_ms, old.expires_unix_ms, old.state, old.result, old.probe_key_id, old.sealed_probe",
            Params().text(id));
        if (r.rows() == 0) return std::nullopt;
        return read_session(r);
    }

    std::int64_t purge_sessions(std::int64_t before_unix_ms) override {
        db_.ready();
        return db_.exec("purge liveness sessions", "DELETE FROM liveness_sessions WHERE expires_unix_ms < $1",
                        Params().i64(before_unix_ms))
            .affected();
    }

    // See postgres_store.hpp for why each step is there and which server settings it relies on.
    void vacuum() override {
        db_.ready();
        // The feed only has to reach running nodes; a node behind the pruned range sees the gap.
        db_.exec("prune changes",
                 "DELETE FROM subject_changes WHERE sequence <= (SELECT max(sequence) FROM subject_changes) - $1",
                 Params().i64(kChangesKept));
        db_.command("vacuum", "VACUUM (FULL) subjects, consents, templates, subject_changes");
        for (const char* sql : {"SELECT pg_switch_wal()", "CHECKPOINT"}) {
            const Result r = db_.command_unchecked(sql);
            if (r.sqlstate() == kInsufficientPrivilege) return;  // compaction done; WAL ages out on its own
            db_.check(r, "vacuum");
        }
    }

private:
    // Each migration in its own transaction, under a transaction-scoped advisory lock: nodes that
    // start together queue here, and each sees what the previous one applied.
    void migrate() {
        for (const auto& m : detail::postgres::kMigrations) {
            const std::string name(m.name);
            const std::int64_t version = std::strtoll(name.c_str(), nullptr, 10);
            if (version <= 0) throw Error(ErrorCode::internal, "store: migration " + name + " has no version number");
            Tx tx(db_);
            db_.exec("migration lock", "SELECT pg_advisory_xact_lock($1)", Params().i64(kMigrationLock));
            db_.command("create schema_migrations",
                        "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY,"
                        " name text NOT NULL, applied_at text NOT NULL)");
            if (db_.exec("read schema_migrations", "SELECT 1 FROM schema_migrations WHERE version = $1",
                         Params().i64(version))
                    .rows() > 0)
                continue;
            db_.command("migration " + name, std::string(m.sql).c_str());
            db_.exec("record migration", "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                     Params().i64(version).text(name).text(now_rfc3339()));
            tx.commit();
        }
    }

    // The change feed is polled by "sequence > last seen". With concurrent writers a plain sequence
    // could commit 6 before 5 and a poller would skip 5 for ever; so the number is max + 1 taken
    // under a lock held until commit (last statement before COMMIT, to hold it briefly).
    void record_change(const std::string& tenant, const std::string& reference) {
        db_.exec("change feed lock", "SELECT pg_advisory_xact_lock($1)", Params().i64(kChangeFeedLock));
        db_.exec("record change",
                 "INSERT INTO subject_changes (sequence, tenant, reference, changed_at)"
                 " SELECT COALESCE(max(sequence), 0) + 1, $1, $2, $3 FROM subject_changes",
                 Params().text(tenant).text(reference).text(now_rfc3339()));
    }

    // lock: also lock the row until the end of the transaction (it stays, its updated_at may change).
    std::optional<std::int64_t> subject_id(const std::string& tenant, const std::string& reference, bool lock) {
        const Result r = db_.exec("find subject",
                                  lock ? "SELECT id FROM subjects WHERE tenant = $1 AND reference = $2 FOR NO KEY UPDATE"
                                       : "SELECT id FROM subjects WHERE tenant = $1 AND reference = $2",
                                  Params().text(tenant).text(reference));
        if (r.rows() == 0) return std::nullopt;
        return r.i64(0, 0);
    }

    std::int64_t insert_template(std::int64_t subject, const TemplateRecord& t) {
        return db_
            .exec("insert template",
                  "INSERT INTO templates (subject_id, model_id, quality_score, created_at, key_id, sealed, sealed_image)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                  Params().i64(subject).text(t.model_id).f64(t.quality_score).text(or_now(t.created_at))
                      .text(t.key_id).bytes(t.sealed).bytes_or_null(t.sealed_image))
            .i64(0, 0);
    }

    Connection db_;
};

}  // namespace

std::unique_ptr<Store> open_postgres(const std::string& url) { return std::make_unique<PostgresStore>(url); }

}  // namespace faceproof::store_detail
