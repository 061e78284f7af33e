// Store contract tests. Written against the abstract faceproof::Store so every backend runs the
// same suite: StoreTest is value-parameterised by backend name ("sqlite", "postgresql"; see
// TestDatabase). The PostgreSQL cases need a server: run under scripts/with_postgres.sh, which starts
// a throwaway one and exports FACEPROOF_TEST_POSTGRES_URL and FACEPROOF_TEST_POSTGRES_DATADIR;
// without it they skip. Each test gets a fresh schema of that server (selected through the URL's
// search_path), so tests can run in parallel.
#include <gtest/gtest.h>

#include <sqlite3.h>
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>  // Debian's location; CMake gives libpq's include dir to the library only
#endif
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <latch>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "faceproof/error.hpp"
#include "faceproof/store.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using faceproof::AuditRow;
using faceproof::Consent;
using faceproof::Error;
using faceproof::ErrorCode;
using faceproof::Store;
using faceproof::Subject;
using faceproof::SubjectKey;
using faceproof::TemplateRecord;

template <class F>
void expect_error(ErrorCode code, F&& f) {
    try {
        f();
        ADD_FAILURE() << "expected Error{" << faceproof::to_string(code) << "}, nothing was thrown";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << "got " << faceproof::to_string(e.code()) << ": " << e.what();
    }
}

Consent valid_consent(const std::string& expires = "2099-01-01T00:00:00Z") {
    return Consent{"identity-proofing", "consent", "notice-v3", "2024-01-01T00:00:00Z", expires};
}

std::vector<std::uint8_t> bytes_for(const std::string& seed, std::size_t n) {
    std::seed_seq seq(seed.begin(), seed.end());
    std::mt19937 rng(seq);
    std::vector<std::uint8_t> out(n);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng());
    return out;
}

TemplateRecord make_template(const std::string& seed, std::size_t size = 64, const std::string& key = "k1") {
    TemplateRecord t;
    t.model_id = "arcface-r100@1";
    t.quality_score = 0.87;
    t.created_at = "2024-02-01T10:00:00Z";
    t.key_id = key;
    t.sealed = bytes_for(seed, size);
    return t;
}

Subject make_subject(const std::string& tenant, const std::string& reference, int templates = 1,
                     const Consent& consent = valid_consent()) {
    Subject s;
    s.tenant = tenant;
    s.reference = reference;
    s.consent = consent;
    for (int i = 0; i < templates; ++i)
        s.templates.push_back(make_template(tenant + "/" + reference + "#" + std::to_string(i)));
    return s;
}

const char* postgres_test_url() {
    const char* url = std::getenv("FACEPROOF_TEST_POSTGRES_URL");
    return url && *url ? url : nullptr;
}

constexpr const char* kNoPostgres =
    "no PostgreSQL server for this test: run it under scripts/with_postgres.sh "
    "(sets FACEPROOF_TEST_POSTGRES_URL and FACEPROOF_TEST_POSTGRES_DATADIR)";

// A direct libpq session, for what the Store API cannot do (per-test schemas, CHECKPOINT, raw rows):
// the PostgreSQL counterpart of opening the SQLite file directly.
class PgSession {
public:
    explicit PgSession(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
        if (PQstatus(conn_) != CONNECTION_OK) ADD_FAILURE() << "cannot connect: " << PQerrorMessage(conn_);
        PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    }
    ~PgSession() { PQfinish(conn_); }
    PgSession(const PgSession&) = delete;
    PgSession& operator=(const PgSession&) = delete;

    // The first column of every row, as text; a failure is a test failure.
    std::vector<std::string> column(const std::string& sql) {
        std::vector<std::string> out;
        PGresult* r = PQexec(conn_, sql.c_str());
        const auto status = PQresultStatus(r);
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) ADD_FAILURE() << sql << ": " << PQerrorMessage(conn_);
        else
            for (int i = 0; i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
        PQclear(r);
        return out;
    }
    // The server's error message, or "" if the statement succeeded.
    std::string error(const std::string& sql) {
        PGresult* r = PQexec(conn_, sql.c_str());
        const auto status = PQresultStatus(r);
        PQclear(r);
        return status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK ? std::string() : PQerrorMessage(conn_);
    }

private:
    PGconn* conn_;
};

// A fresh, empty database for one test: a SQLite file in dir, or a new schema on the test
// PostgreSQL server that the URL selects (search_path), so migrations run there from scratch.
// url is empty when the backend is not available here.
class TestDatabase {
public:
    TestDatabase(const std::string& backend, const fs::path& dir) : backend_(backend) {
        if (backend == "sqlite") {
            url_ = "sqlite:" + (dir / "store.db").string();
            sqlite_path_ = dir / "store.db";
        } else if (backend == "postgresql" && postgres_test_url()) {
            std::random_device rd;
            char name[32];
            std::snprintf(name, sizeof name, "t_%08x%08x", rd(), rd());
            schema_ = name;
            const std::string base = postgres_test_url();
            if (const std::string err = PgSession(base).error("CREATE SCHEMA " + schema_); !err.empty()) {
                ADD_FAILURE() << "CREATE SCHEMA " << schema_ << ": " << err;
                return;
            }
            url_ = base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema_;
        }
    }
    ~TestDatabase() {
        if (!schema_.empty() && !url_.empty()) PgSession(postgres_test_url()).column("DROP SCHEMA " + schema_ + " CASCADE");
    }
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    const std::string& url() const { return url_; }

    // Runs a single-column query directly on the database (not through the Store).
    std::vector<std::string> column(const std::string& sql) const {
        if (backend_ == "postgresql") return PgSession(url_).column(sql);
        sqlite3* db = nullptr;
        std::vector<std::string> out;
        if (sqlite3_open_v2(sqlite_path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
            ADD_FAILURE() << "cannot open " << sqlite_path_;
            sqlite3_close(db);
            return out;
        }
        sqlite3_stmt* st = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
            out.emplace_back(t ? t : "");
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return out;
    }
    // Runs a statement directly, read-write; the database's error message or "" if it succeeded.
    std::string error(const std::string& sql) const {
        if (backend_ == "postgresql") return PgSession(url_).error(sql);
        sqlite3* db = nullptr;
        std::string message;
        if (sqlite3_open_v2(sqlite_path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
            message = "cannot open " + sqlite_path_.string();
        } else {
            char* err = nullptr;
            if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) message = err ? err : "error";
            sqlite3_free(err);
        }
        sqlite3_close(db);
        return message;
    }

    // Every file that may hold the data: the SQLite file with its -wal/-shm/-journal, or the whole
    // PostgreSQL data directory (heap, TOAST, indexes, pg_wal, …). Empty if unknown.
    std::vector<fs::path> files() const {
        std::vector<fs::path> out;
        if (backend_ == "sqlite") {
            for (const auto& entry : fs::directory_iterator(sqlite_path_.parent_path()))
                if (entry.path().filename().string().rfind("store.db", 0) == 0) out.push_back(entry.path());
            return out;
        }
        const char* datadir = std::getenv("FACEPROOF_TEST_POSTGRES_DATADIR");
        if (!datadir || !*datadir) return out;
        std::error_code ec;
        fs::recursive_directory_iterator it(datadir, ec), end;
        if (ec) ADD_FAILURE() << "cannot list " << datadir << ": " << ec.message();
        for (; !ec && it != end; it.increment(ec))  // files come and go while the server runs
            if (it->is_regular_file(ec)) out.push_back(it->path());
        return out;
    }

private:
    std::string backend_, url_, schema_;
    fs::path sqlite_path_;
};

// Reads a whole file; a file that vanished meanwhile is empty, an unreadable one a test failure
// (a scan that cannot read everything proves nothing).
std::vector<char> read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::error_code ec;
        if (fs::exists(path, ec)) ADD_FAILURE() << "cannot read " << path << ": " << std::strerror(errno);
        return {};
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

using fptest::windows_found;

class StoreTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "faceproof-store-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        if (GetParam() == "postgresql" && !postgres_test_url()) GTEST_SKIP() << kNoPostgres;
        db_ = std::make_unique<TestDatabase>(GetParam(), dir_);
        url_ = db_->url();
        ASSERT_FALSE(url_.empty()) << GetParam() << ": no fresh database";
    }
    void TearDown() override {
        db_.reset();
        std::error_code ec;
        if (!dir_.empty()) fs::remove_all(dir_, ec);
    }
    std::unique_ptr<Store> open() { return Store::open(url_); }
    bool is_sqlite() const { return GetParam() == "sqlite"; }
    std::vector<std::string> sql_column(const std::string& sql) const { return db_->column(sql); }

    bool occurs(const std::vector<std::uint8_t>& needle) const {
        const std::vector<char> chars(needle.begin(), needle.end());
        const std::boyer_moore_horspool_searcher search(chars.begin(), chars.end());
        for (const auto& path : db_->files()) {
            const std::vector<char> file = read_file(path);
            if (std::search(file.begin(), file.end(), search) != file.end()) return true;
        }
        return false;
    }

    fs::path dir_;
    std::unique_ptr<TestDatabase> db_;
    std::string url_;
};

TEST_P(StoreTest, EnrolFindRoundTrip) {
    auto store = open();
    Subject s = make_subject("acme", "cust-1", 2);
    s.templates[1].sealed_image = bytes_for("retained image", 5000);  // retention on for one capture
    store->enrol(s);
    const auto found = store->find("acme", "cust-1");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->tenant, "acme");
    EXPECT_EQ(found->reference, "cust-1");
    EXPECT_FALSE(found->created_at.empty());
    EXPECT_FALSE(found->updated_at.empty());
    EXPECT_EQ(found->consent.purpose, s.consent.purpose);
    EXPECT_EQ(found->consent.legal_basis, s.consent.legal_basis);
    EXPECT_EQ(found->consent.notice_version, s.consent.notice_version);
    EXPECT_EQ(found->consent.given_at, s.consent.given_at);
    EXPECT_EQ(found->consent.expires_at, s.consent.expires_at);
    ASSERT_EQ(found->templates.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& t = found->templates[i];
        EXPECT_GT(t.id, 0);
        EXPECT_EQ(t.model_id, s.templates[i].model_id);
        EXPECT_DOUBLE_EQ(t.quality_score, s.templates[i].quality_score);
        EXPECT_EQ(t.created_at, s.templates[i].created_at);
        EXPECT_EQ(t.key_id, s.templates[i].key_id);
        EXPECT_EQ(t.sealed, s.templates[i].sealed);
        EXPECT_EQ(t.sealed_image, s.templates[i].sealed_image);
    }
    EXPECT_LT(found->templates[0].id, found->templates[1].id);
    EXPECT_FALSE(store->find("acme", "cust-2"));
}

TEST_P(StoreTest, DuplicateEnrolIsConflict) {
    auto store = open();
    store->enrol(make_subject("acme", "cust-1"));
    expect_error(ErrorCode::conflict, [&] { store->enrol(make_subject("acme", "cust-1", 3)); });
    EXPECT_EQ(store->find("acme", "cust-1")->templates.size(), 1u);
}

TEST_P(StoreTest, BadConsentIsRejectedAndNothingStored) {
    auto store = open();
    auto with = [](auto change) {
        Consent c = valid_consent();
        change(c);
        return make_subject("acme", "cust-1", 1, c);
    };
    const std::vector<Subject> bad = {
        with([](Consent& c) { c.purpose.clear(); }),
        with([](Consent& c) { c.legal_basis.clear(); }),
        with([](Consent& c) { c.notice_version.clear(); }),
        with([](Consent& c) { c.given_at.clear(); }),
        with([](Consent& c) { c.expires_at.clear(); }),
        with([](Consent& c) { c.expires_at = c.given_at; }),
        with([](Consent& c) { c.expires_at = "2023-12-31T23:59:59Z"; }),
        // same wall-clock text, but the offset puts expiry one hour before the consent was given
        with([](Consent& c) { c.expires_at = "2024-01-01T00:00:00+01:00"; }),
        with([](Consent& c) { c.expires_at = "next year"; }),
        with([](Consent& c) { c.given_at = "2024-02-30T00:00:00Z"; }),
        // already expired
        with([](Consent& c) { c.expires_at = "2024-06-01T00:00:00Z"; }),
    };
    for (const auto& s : bad) expect_error(ErrorCode::consent_invalid, [&] { store->enrol(s); });
    EXPECT_FALSE(store->find("acme", "cust-1"));
    EXPECT_TRUE(store->list("acme", 10, 0).empty());
}

TEST_P(StoreTest, InvalidArguments) {
    auto store = open();
    expect_error(ErrorCode::invalid_argument, [&] { store->enrol(make_subject("", "cust-1")); });
    expect_error(ErrorCode::invalid_argument, [&] { store->enrol(make_subject("acme", "")); });
    expect_error(ErrorCode::invalid_argument, [&] { store->list("acme", -1, 0); });
    expect_error(ErrorCode::invalid_argument, [&] { store->purge_expired("yesterday"); });
    Subject s = make_subject("acme", "cust-1");
    s.templates[0].sealed.clear();
    expect_error(ErrorCode::invalid_argument, [&] { store->enrol(s); });
    EXPECT_FALSE(store->find("acme", "cust-1"));  // the subject row was rolled back with it
}

TEST_P(StoreTest, AddTemplate) {
    auto store = open();
    store->enrol(make_subject("acme", "cust-1"));
    const TemplateRecord extra = make_template("extra", 512, "k7");
    const std::int64_t id = store->add_template("acme", "cust-1", extra);
    const auto found = store->find("acme", "cust-1");
    ASSERT_TRUE(found);
    ASSERT_EQ(found->templates.size(), 2u);
    EXPECT_EQ(found->templates[1].id, id);
    EXPECT_EQ(found->templates[1].sealed, extra.sealed);
    EXPECT_EQ(found->templates[1].key_id, "k7");
    expect_error(ErrorCode::not_found, [&] { store->add_template("acme", "nobody", extra); });
    expect_error(ErrorCode::not_found, [&] { store->add_template("other", "cust-1", extra); });
}

TEST_P(StoreTest, ListPages) {
    auto store = open();
    for (const char* r : {"e", "b", "d", "a", "c"}) store->enrol(make_subject("acme", r));
    store->enrol(make_subject("other", "aa"));
    EXPECT_EQ(store->list("acme", 2, 0), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(store->list("acme", 2, 2), (std::vector<std::string>{"c", "d"}));
    EXPECT_EQ(store->list("acme", 2, 4), (std::vector<std::string>{"e"}));
    EXPECT_TRUE(store->list("acme", 2, 6).empty());
    EXPECT_TRUE(store->list("acme", 0, 0).empty());
    EXPECT_EQ(store->list("other", 100, 0), (std::vector<std::string>{"aa"}));
    EXPECT_TRUE(store->list("nobody", 100, 0).empty());
}

TEST_P(StoreTest, Remove) {
    auto store = open();
    store->enrol(make_subject("acme", "cust-1", 3));
    store->enrol(make_subject("acme", "cust-2", 1));
    EXPECT_TRUE(store->remove("acme", "cust-1"));
    EXPECT_FALSE(store->find("acme", "cust-1"));
    EXPECT_FALSE(store->remove("acme", "cust-1"));
    EXPECT_EQ(store->list("acme", 10, 0), (std::vector<std::string>{"cust-2"}));
    const auto left = store->all_templates("acme");
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].first.reference, "cust-2");
    store.reset();
    EXPECT_EQ(sql_column("SELECT count(*) FROM consents"), (std::vector<std::string>{"1"}));
    EXPECT_EQ(sql_column("SELECT count(*) FROM templates"), (std::vector<std::string>{"1"}));
}

TEST_P(StoreTest, PurgeExpired) {
    auto store = open();
    store->enrol(make_subject("acme", "early", 2, valid_consent("2030-01-01T00:00:00Z")));
    store->enrol(make_subject("acme", "late", 1, valid_consent("2040-01-01T00:00:00Z")));
    // 2030-01-01T01:00:00+02:00 is 2029-12-31T23:00:00Z: earlier than "early" although it sorts later as text.
    store->enrol(make_subject("beta", "offset", 1, valid_consent("2030-01-01T01:00:00+02:00")));
    EXPECT_TRUE(store->purge_expired("2029-12-31T22:59:59Z").empty());
    EXPECT_EQ(store->purge_expired("2029-12-31T23:30:00Z"), (std::vector<std::string>{"beta/offset"}));
    EXPECT_EQ(store->purge_expired("2035-06-01T00:00:00Z"), (std::vector<std::string>{"acme/early"}));
    EXPECT_FALSE(store->find("acme", "early"));
    EXPECT_TRUE(store->find("acme", "late"));
    EXPECT_EQ(store->all_templates("acme").size(), 1u);
    EXPECT_TRUE(store->purge_expired("2035-06-01T00:00:00Z").empty());
}

TEST_P(StoreTest, AllTemplates) {
    auto store = open();
    store->enrol(make_subject("acme", "cust-1", 2));
    store->enrol(make_subject("other", "cust-9", 4));
    store->enrol(make_subject("acme", "cust-2", 1));
    const auto all = store->all_templates("acme");
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].first, (SubjectKey{"acme", "cust-1"}));
    EXPECT_EQ(all[1].first, (SubjectKey{"acme", "cust-1"}));
    EXPECT_EQ(all[2].first, (SubjectKey{"acme", "cust-2"}));
    EXPECT_EQ(all[0].second.sealed, make_template("acme/cust-1#0").sealed);
    EXPECT_EQ(all[2].second.sealed, make_template("acme/cust-2#0").sealed);
    EXPECT_LT(all[0].second.id, all[1].second.id);
    EXPECT_LT(all[1].second.id, all[2].second.id);
    EXPECT_EQ(store->all_templates("other").size(), 4u);
    EXPECT_TRUE(store->all_templates("nobody").empty());
}

TEST_P(StoreTest, AuditAppendListLast) {
    auto store = open();
    EXPECT_FALSE(store->last_audit());
    auto row = [](const std::string& tenant, const std::string& action, const std::string& prev) {
        AuditRow r;
        r.time = "2024-03-01T12:00:00Z";
        r.tenant = tenant;
        r.actor = "operator-7";
        r.action = action;
        r.subject = "cust-1";
        r.outcome = "ok";
        r.details_json = R"({"score":0.91})";
        r.previous_hash = prev;
        r.hash = "h-" + action;
        return r;
    };
    store->append_audit(row("acme", "enrol", ""));
    store->append_audit(row("other", "verify", "h-enrol"));
    store->append_audit(row("acme", "delete", "h-verify"));
    const auto all = store->audit(std::nullopt, 0, 100);
    ASSERT_EQ(all.size(), 3u);
    for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].sequence, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(all[1].action, "verify");
    EXPECT_EQ(all[1].previous_hash, "h-enrol");
    EXPECT_EQ(all[1].details_json, R"({"score":0.91})");
    const auto acme = store->audit(std::string("acme"), 0, 100);
    ASSERT_EQ(acme.size(), 2u);
    EXPECT_EQ(acme[0].action, "enrol");
    EXPECT_EQ(acme[1].action, "delete");
    const auto page = store->audit(std::nullopt, 1, 1);
    ASSERT_EQ(page.size(), 1u);
    EXPECT_EQ(page[0].sequence, 2);
    const auto last = store->last_audit();
    ASSERT_TRUE(last);
    EXPECT_EQ(last->sequence, 3);
    EXPECT_EQ(last->hash, "h-delete");
    EXPECT_EQ(last->previous_hash, "h-verify");
    AuditRow taken = row("acme", "again", "h-delete");
    taken.sequence = 2;
    expect_error(ErrorCode::conflict, [&] { store->append_audit(taken); });
    taken.sequence = 10;
    store->append_audit(taken);
    EXPECT_EQ(store->last_audit()->sequence, 10);
}

TEST_P(StoreTest, MigrationsIdempotentOnReopen) {
    open()->enrol(make_subject("acme", "cust-1"));
    auto again = open();
    EXPECT_TRUE(again->find("acme", "cust-1"));
    again.reset();
    open().reset();
    const auto versions = sql_column("SELECT version FROM schema_migrations ORDER BY version");
    ASSERT_FALSE(versions.empty());
    EXPECT_EQ(versions.front(), "1");
    EXPECT_EQ(std::set<std::string>(versions.begin(), versions.end()).size(), versions.size());
    EXPECT_EQ(sql_column("SELECT count(*) FROM schema_migrations WHERE applied_at = ''"),
              (std::vector<std::string>{"0"}));
}

TEST_P(StoreTest, TenantIsolation) {
    auto store = open();
    store->enrol(make_subject("acme", "cust-1", 1));
    store->enrol(make_subject("beta", "cust-1", 2));  // same reference, other tenant: no conflict
    EXPECT_EQ(store->find("acme", "cust-1")->templates.size(), 1u);
    EXPECT_EQ(store->find("beta", "cust-1")->templates.size(), 2u);
    EXPECT_EQ(store->find("beta", "cust-1")->templates[0].sealed, make_template("beta/cust-1#0").sealed);
    EXPECT_TRUE(store->remove("acme", "cust-1"));
    EXPECT_FALSE(store->find("acme", "cust-1"));
    ASSERT_TRUE(store->find("beta", "cust-1"));
    EXPECT_EQ(store->find("beta", "cust-1")->templates.size(), 2u);
    EXPECT_FALSE(store->remove("acme", "cust-1"));
    EXPECT_EQ(store->all_templates("beta").size(), 2u);
}

TEST_P(StoreTest, ResealChangesBlobsAndKeyIds) {
    auto store = open();
    store->enrol(make_subject("acme", "many", 300));  // more than one batch
    store->enrol(make_subject("beta", "one", 1));
    auto flip = [](const TemplateRecord& t) {
        std::vector<std::uint8_t> out = t.sealed;
        for (auto& b : out) b ^= 0x5a;
        return out;
    };
    // A failing reseal rolls its batch back.
    int calls = 0;
    EXPECT_THROW(store->reseal_templates([&](const SubjectKey&, TemplateRecord& t) {
        if (++calls == 10) throw std::runtime_error("kms down");
        t.key_id = "k2";
        t.sealed = flip(t);
    }),
                 std::runtime_error);
    for (const auto& [key, t] : store->all_templates("acme")) ASSERT_EQ(t.key_id, "k1");

    std::vector<std::pair<SubjectKey, TemplateRecord>> before = store->all_templates("acme");
    store->reseal_templates([&](const SubjectKey& owner, TemplateRecord& t) {
        EXPECT_EQ(t.key_id, "k1");
        EXPECT_TRUE(owner.tenant == "acme" || (owner.tenant == "beta" && owner.reference == "one"));
        t.key_id = "k2";
        t.sealed = flip(t);
        if (!t.sealed_image.empty()) t.sealed_image.assign(t.sealed_image.size(), 0x77);
    });
    const auto after = store->all_templates("acme");
    ASSERT_EQ(after.size(), before.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
        EXPECT_EQ(after[i].second.id, before[i].second.id);
        EXPECT_EQ(after[i].second.key_id, "k2");
        EXPECT_NE(after[i].second.sealed, before[i].second.sealed);
        EXPECT_EQ(after[i].second.sealed, flip(before[i].second));
    }
    EXPECT_EQ(store->find("beta", "one")->templates[0].key_id, "k2");
}

TEST_P(StoreTest, DeletionReallyDeletesBytes) {
    if (!is_sqlite() && !std::getenv("FACEPROOF_TEST_POSTGRES_DATADIR"))
        GTEST_SKIP() << "FACEPROOF_TEST_POSTGRES_DATADIR is unset: the server's files cannot be inspected";
    std::random_device rd;
    std::vector<std::uint8_t> secret(2048);
    for (auto& b : secret) b = static_cast<std::uint8_t>(rd());
    const std::vector<std::uint8_t> slice(secret.begin() + 1000, secret.begin() + 1032);
    std::vector<std::uint8_t> image(6000);  // a retained capture: larger than a page, so it overflows
    for (auto& b : image) b = static_cast<std::uint8_t>(rd());
    const std::vector<std::uint8_t> image_slice(image.begin() + 4000, image.begin() + 4032);
    {
        auto store = open();
        Subject s = make_subject("acme", "forget-me", 1);
        s.templates[0].sealed = secret;
        s.templates[0].sealed_image = image;
        store->enrol(s);
        store->enrol(make_subject("acme", "keep-me", 2));
    }
    // The server keeps fresh pages in memory (and in WAL): write them out so the control also sees
    // the table files.
    if (!is_sqlite()) PgSession(url_).column("CHECKPOINT");
    ASSERT_TRUE(occurs(slice)) << "positive control: the enrolled blob should be in the files";
    ASSERT_TRUE(occurs(image_slice)) << "positive control: the retained image should be in the files";
    {
        auto store = open();
        ASSERT_TRUE(store->remove("acme", "forget-me"));
        store->vacuum();
    }
    auto first = [](const std::vector<std::string>& hits) {
        std::string out;
        for (std::size_t i = 0; i < hits.size() && i < 5; ++i) out += "\n  " + hits[i];
        return out;
    };
    const auto files = db_->files();
    const auto template_left = windows_found(files, secret);
    const auto image_left = windows_found(files, image);
    EXPECT_TRUE(template_left.empty()) << template_left.size()
                                       << " 32-byte slices of the deleted template are still in:" << first(template_left);
    EXPECT_TRUE(image_left.empty()) << image_left.size()
                                    << " 32-byte slices of the deleted image are still in:" << first(image_left);
    EXPECT_TRUE(occurs(make_template("acme/keep-me#0").sealed)) << "control: the kept subject's bytes are found";
    EXPECT_TRUE(open()->find("acme", "keep-me"));
}

TEST_P(StoreTest, KilledWriterLeavesNoHalfWrittenSubject) {
    constexpr int kTemplates = 4;
    open().reset();  // migrations done before the writer starts
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();  // no connection is open here: the child opens its own
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        try {
            auto store = Store::open(url_);
            for (int i = 0;; ++i) {
                Subject s = make_subject("crash", "subject-" + std::to_string(i), kTemplates);
                for (auto& t : s.templates) t.sealed = bytes_for(s.reference + t.created_at, 3000);
                store->enrol(s);
                if (write(fds[1], "x", 1) != 1) _exit(3);
            }
        } catch (...) {
            _exit(2);
        }
    }
    close(fds[1]);
    // Let it commit a few subjects, then kill it at some point of a later enrolment.
    int committed = 0;
    pollfd pfd{fds[0], POLLIN, 0};
    while (committed < 15 && poll(&pfd, 1, 3000) > 0) {
        char buf[64];
        const ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        committed += static_cast<int>(n);
    }
    usleep(static_cast<useconds_t>(std::random_device{}() % 3000));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited by itself (status " << status << ")";
    ASSERT_GE(committed, 15) << "writer made too little progress before the deadline";

    // For PostgreSQL the server aborts the dead client's transaction; readers never see its rows.
    auto store = open();
    const auto refs = store->list("crash", 1'000'000, 0);
    EXPECT_GE(refs.size(), static_cast<std::size_t>(committed));
    for (const auto& r : refs) {
        const auto s = store->find("crash", r);
        ASSERT_TRUE(s);
        EXPECT_FALSE(s->consent.purpose.empty()) << r;
        EXPECT_FALSE(s->consent.expires_at.empty()) << r;
        ASSERT_EQ(s->templates.size(), static_cast<std::size_t>(kTemplates)) << r;
        for (const auto& t : s->templates) EXPECT_EQ(t.sealed, bytes_for(r + t.created_at, 3000)) << r;
    }
    store.reset();
    if (is_sqlite()) {
        EXPECT_EQ(sql_column("PRAGMA integrity_check"), (std::vector<std::string>{"ok"}));
    }
    EXPECT_EQ(sql_column("SELECT count(*) FROM templates t LEFT JOIN subjects s ON s.id = t.subject_id"
                         " WHERE s.id IS NULL"),
              (std::vector<std::string>{"0"}));
    EXPECT_EQ(sql_column("SELECT count(*) FROM subjects s LEFT JOIN consents c ON c.subject_id = s.id"
                         " WHERE c.subject_id IS NULL"),
              (std::vector<std::string>{"0"}));
}

AuditRow audit_row(std::int64_t sequence, const std::string& previous_hash, const std::string& hash) {
    AuditRow r;
    r.sequence = sequence;
    r.time = "2024-03-01T12:00:00Z";
    r.tenant = "acme";
    r.actor = "operator-7";
    r.action = "verify";
    r.subject = "cust-1";
    r.outcome = "ok";
    r.details_json = "{}";
    r.previous_hash = previous_hash;
    r.hash = hash;
    return r;
}

TEST_P(StoreTest, AuditIsAppendOnly) {
    open()->append_audit(audit_row(0, "", "h-1"));
    const std::string append_only = "append-only";
    EXPECT_NE(db_->error("UPDATE audit SET outcome = 'forged'").find(append_only), std::string::npos);
    EXPECT_NE(db_->error("DELETE FROM audit").find(append_only), std::string::npos);
    if (!is_sqlite()) {
        EXPECT_NE(db_->error("TRUNCATE audit").find(append_only), std::string::npos);
    }
    const auto rows = open()->audit(std::nullopt, 0, 10);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].outcome, "ok");
}

// Two writers (two Stores, two connections) race for the next sequence number the way AuditTrail
// does: read the last row, append last + 1. The loser gets conflict and retries; the chain stays whole.
TEST_P(StoreTest, ConcurrentAuditAppendsKeepTheChain) {
    open().reset();  // migrations first
    constexpr int kWriters = 2, kRows = 40, kMaxAttempts = 10'000;
    std::latch start(kWriters);
    std::mutex mutex;
    std::vector<std::string> failures;
    int conflicts = 0;
    auto writer = [&](int w) {
        try {
            auto store = Store::open(url_);
            start.arrive_and_wait();
            for (int i = 0, attempts = 0; i < kRows && ++attempts < kMaxAttempts;) {
                const auto last = store->last_audit();
                try {
                    store->append_audit(audit_row(last ? last->sequence + 1 : 1, last ? last->hash : "",
                                                  "w" + std::to_string(w) + "-" + std::to_string(i)));
                    ++i;
                } catch (const Error& e) {
                    if (e.code() != ErrorCode::conflict) throw;
                    const std::lock_guard lock(mutex);
                    ++conflicts;
                }
            }
        } catch (const std::exception& e) {
            const std::lock_guard lock(mutex);
            failures.push_back(e.what());
        }
    };
    std::thread a(writer, 0), b(writer, 1);
    a.join();
    b.join();
    ASSERT_TRUE(failures.empty()) << failures.front();
    const auto rows = open()->audit(std::nullopt, 0, 1000);
    ASSERT_EQ(rows.size(), static_cast<std::size_t>(kWriters * kRows));
    std::set<std::string> hashes;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(rows[i].sequence, static_cast<std::int64_t>(i + 1));
        EXPECT_EQ(rows[i].previous_hash, i == 0 ? std::string() : rows[i - 1].hash) << "at sequence " << i + 1;
        hashes.insert(rows[i].hash);
    }
    EXPECT_EQ(hashes.size(), rows.size());
    RecordProperty("conflicts", conflicts);
}

// Several nodes starting at once on an empty database: each migration is applied exactly once.
TEST_P(StoreTest, ConcurrentOpensMigrateOnce) {
    constexpr int kNodes = 4;
    std::latch start(kNodes);
    std::mutex mutex;
    std::vector<std::string> failures;
    std::vector<std::thread> nodes;
    for (int n = 0; n < kNodes; ++n)
        nodes.emplace_back([&, n] {
            start.arrive_and_wait();
            try {
                Store::open(url_)->enrol(make_subject("acme", "node-" + std::to_string(n)));
            } catch (const std::exception& e) {
                const std::lock_guard lock(mutex);
                failures.push_back(e.what());
            }
        });
    for (auto& t : nodes) t.join();
    ASSERT_TRUE(failures.empty()) << failures.front();
    EXPECT_EQ(open()->list("acme", 100, 0).size(), static_cast<std::size_t>(kNodes));
    const auto versions = sql_column("SELECT version FROM schema_migrations ORDER BY version");
    ASSERT_FALSE(versions.empty());
    EXPECT_EQ(std::set<std::string>(versions.begin(), versions.end()).size(), versions.size());
    EXPECT_EQ(sql_column("SELECT count(*) FROM schema_migrations"),
              (std::vector<std::string>{std::to_string(versions.size())}));
}

TEST_P(StoreTest, ApiKeys) {
    auto store = open();
    const faceproof::ApiKeyRecord admin{"key-b", "acme", "admin", "hash-b", "2024-01-02T00:00:00Z", ""};
    const faceproof::ApiKeyRecord op{"key-a", "acme", "operator", "hash-a", "2024-01-02T00:00:00Z", ""};
    const faceproof::ApiKeyRecord other{"key-c", "beta", "operator", "hash-c", "2024-01-01T00:00:00Z", ""};
    for (const auto& k : {admin, op, other}) store->add_api_key(k);
    expect_error(ErrorCode::conflict, [&] { store->add_api_key(admin); });
    expect_error(ErrorCode::invalid_argument, [&] {
        store->add_api_key({"key-d", "acme", "root", "hash-d", "", ""});
    });
    const auto found = store->find_api_key("key-b");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->tenant, "acme");
    EXPECT_EQ(found->role, "admin");
    EXPECT_EQ(found->secret_hash, "hash-b");
    EXPECT_TRUE(found->revoked_at.empty());
    EXPECT_FALSE(store->find_api_key("nope"));
    auto ids = [](const std::vector<faceproof::ApiKeyRecord>& keys) {
        std::vector<std::string> out;
        for (const auto& k : keys) out.push_back(k.id);
        return out;
    };
    EXPECT_EQ(ids(store->list_api_keys(std::nullopt)), (std::vector<std::string>{"key-c", "key-a", "key-b"}));
    EXPECT_EQ(ids(store->list_api_keys(std::string("acme"))), (std::vector<std::string>{"key-a", "key-b"}));
    EXPECT_TRUE(store->revoke_api_key("key-a", "2024-06-01T00:00:00Z"));
    EXPECT_FALSE(store->revoke_api_key("key-a", "2024-07-01T00:00:00Z"));  // already revoked
    EXPECT_FALSE(store->revoke_api_key("nope", "2024-07-01T00:00:00Z"));
    expect_error(ErrorCode::invalid_argument, [&] { store->revoke_api_key("key-b", "soon"); });
    EXPECT_EQ(store->find_api_key("key-a")->revoked_at, "2024-06-01T00:00:00Z");
}

TEST_P(StoreTest, ChangeFeedRecordsEveryWrite) {
    auto store = open();
    EXPECT_EQ(store->last_change(), 0);
    store->enrol(make_subject("acme", "cust-1"));
    store->enrol(make_subject("acme", "cust-2", 1, valid_consent("2030-01-01T00:00:00Z")));
    store->add_template("acme", "cust-1", make_template("extra"));
    EXPECT_TRUE(store->remove("acme", "cust-1"));
    EXPECT_FALSE(store->remove("acme", "cust-1"));  // nothing changed, nothing recorded
    EXPECT_EQ(store->purge_expired("2031-01-01T00:00:00Z"), (std::vector<std::string>{"acme/cust-2"}));
    const auto changes = store->changes_since(0, 100);
    ASSERT_EQ(changes.size(), 5u);
    const std::vector<std::string> expected = {"cust-1", "cust-2", "cust-1", "cust-1", "cust-2"};
    for (std::size_t i = 0; i < changes.size(); ++i) {
        EXPECT_EQ(changes[i].sequence, static_cast<std::int64_t>(i + 1));
        EXPECT_EQ(changes[i].tenant, "acme");
        EXPECT_EQ(changes[i].reference, expected[i]);
    }
    EXPECT_EQ(store->last_change(), 5);
    EXPECT_EQ(store->changes_since(3, 1).size(), 1u);
    EXPECT_EQ(store->changes_since(3, 1)[0].sequence, 4);
    EXPECT_TRUE(store->changes_since(5, 100).empty());
    expect_error(ErrorCode::invalid_argument, [&] { store->changes_since(0, -1); });
    store->vacuum();
    EXPECT_EQ(store->last_change(), 5);
}

// Nodes follow the feed with "changes after the last sequence I saw". With concurrent writers, a
// sequence must never become visible after a higher one, or a poller skips it for ever.
TEST_P(StoreTest, ChangeFeedPollerNeverSkips) {
    open().reset();
    constexpr int kWriters = 2, kSubjects = 40;
    std::atomic<int> writing{kWriters};
    std::mutex mutex;
    std::vector<std::string> failures;
    auto writer = [&](int w) {
        try {
            auto store = Store::open(url_);
            for (int i = 0; i < kSubjects; ++i)
                store->enrol(make_subject("acme", "w" + std::to_string(w) + "-" + std::to_string(i)));
        } catch (const std::exception& e) {
            const std::lock_guard lock(mutex);
            failures.push_back(e.what());
        }
        --writing;
    };
    std::vector<std::int64_t> seen;
    std::thread poller([&] {
        try {
            auto store = Store::open(url_);
            for (bool last_round = false;;) {
                last_round = writing == 0;  // one more poll after the writers are done
                for (const auto& c : store->changes_since(seen.empty() ? 0 : seen.back(), 1000)) seen.push_back(c.sequence);
                if (last_round) break;
            }
        } catch (const std::exception& e) {
            const std::lock_guard lock(mutex);
            failures.push_back(e.what());
        }
    });
    std::thread a(writer, 0), b(writer, 1);
    a.join();
    b.join();
    poller.join();
    ASSERT_TRUE(failures.empty()) << failures.front();
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(kWriters * kSubjects)) << "the poller skipped changes";
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], static_cast<std::int64_t>(i + 1));
}

// A server that drops the connection (restart, failover, pg_terminate_backend): the operation in
// flight fails with store_error (it is not retried: it may have committed), the next one reconnects.
TEST_P(StoreTest, PostgresReconnectsAfterTheServerDropsTheConnection) {
    if (is_sqlite()) GTEST_SKIP() << "no server connection";
    const std::string name = "faceproof_drop_" + std::to_string(getpid());
    url_ += "&application_name=" + name;
    auto store = open();
    store->enrol(make_subject("acme", "cust-1"));
    EXPECT_EQ(PgSession(postgres_test_url())
                  .column("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '" +
                          name + "'"),
              (std::vector<std::string>{"1"}));
    expect_error(ErrorCode::store_error, [&] { store->find("acme", "cust-1"); });
    EXPECT_TRUE(store->find("acme", "cust-1"));
    store->enrol(make_subject("acme", "cust-2"));
    EXPECT_EQ(store->list("acme", 10, 0).size(), 2u);
}

// Store::transaction: everything inside commits together or not at all, nested transactions are
// savepoints, and what a transaction appends to the audit is gone with it when it rolls back.
TEST_P(StoreTest, TransactionIsAllOrNothingAndNests) {
    auto store = open();
    expect_error(ErrorCode::internal, [&] {
        store->transaction("tenant:acme", [&] {
            store->enrol(make_subject("acme", "rolled-back"));
            store->append_audit(audit_row(0, "", "h-rolled-back"));
            throw Error(ErrorCode::internal, "fails after both writes");
        });
    });
    EXPECT_FALSE(store->find("acme", "rolled-back"));
    EXPECT_FALSE(store->last_audit());
    store->transaction("tenant:acme", [&] {
        store->enrol(make_subject("acme", "kept"));
        try {
            store->transaction("audit", [&] {
                store->enrol(make_subject("acme", "inner"));
                throw Error(ErrorCode::conflict, "the inner part fails");
            });
        } catch (const Error&) {
        }
        store->append_audit(audit_row(0, "", "h-kept"));
    });
    EXPECT_TRUE(store->find("acme", "kept"));
    EXPECT_FALSE(store->find("acme", "inner")) << "the failed savepoint is rolled back alone";
    ASSERT_TRUE(store->last_audit());
    EXPECT_EQ(store->last_audit()->hash, "h-kept");
    // Operations made outside any transaction still commit on their own afterwards.
    store->enrol(make_subject("acme", "after"));
    EXPECT_TRUE(open()->find("acme", "after"));
}

// A transaction holds its scope's lock until it ends: a second writer of the same scope (another
// connection, as another process or node would have) waits, and then sees the first one's commit.
TEST_P(StoreTest, TransactionLockSerialisesWritersOfAScope) {
    auto first = open();
    auto second = open();
    std::promise<void> inside;
    std::promise<void> release;
    std::thread holder([&] {
        first->transaction("tenant:acme", [&] {
            first->enrol(make_subject("acme", "first"));
            inside.set_value();
            release.get_future().wait();
        });
    });
    inside.get_future().wait();
    bool saw_first = false;
    auto waiting = std::async(std::launch::async, [&] {
        second->transaction("tenant:acme", [&] { saw_first = second->find("acme", "first").has_value(); });
    });
    // The second writer must still be waiting while the first holds the lock.
    EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
    release.set_value();
    ASSERT_EQ(waiting.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    waiting.get();
    holder.join();
    EXPECT_TRUE(saw_first) << "the second writer ran before the first committed";
}

// Liveness lockouts live in the store, so every node sees them.
TEST_P(StoreTest, LockoutAfterRepeatedFailures) {
    auto store = open();
    const faceproof::LockoutRule rule{5, 180'000, 900'000};
    const std::int64_t t0 = 1'800'000'000'000;
    for (int i = 0; i < 4; ++i) EXPECT_EQ(store->record_failure("subject:acme/s1", t0 + i * 1000, rule), 0);
    EXPECT_EQ(store->locked_until("subject:acme/s1", t0 + 5000), 0);
    EXPECT_EQ(store->record_failure("subject:acme/s1", t0 + 10'000, rule), t0 + 10'000 + 900'000);
    EXPECT_EQ(open()->locked_until("subject:acme/s1", t0 + 10'000), t0 + 910'000) << "another connection sees it";
    EXPECT_EQ(store->locked_until("subject:acme/s2", t0 + 10'000), 0);  // per key
    EXPECT_EQ(store->locked_until("subject:acme/s1", t0 + 910'001), 0);
    // Failures spread wider than the window do not add up.
    for (int i = 0; i < 5; ++i) EXPECT_EQ(store->record_failure("subject:acme/s3", t0 + i * 60'000, rule), 0);
    // A success forgets the count.
    for (int i = 0; i < 4; ++i) store->record_failure("api-key:k1", t0 + i, rule);
    store->clear_failures("api-key:k1");
    EXPECT_EQ(store->record_failure("api-key:k1", t0 + 10, rule), 0);
    expect_error(ErrorCode::invalid_argument, [&] { store->record_failure("", t0, rule); });
    expect_error(ErrorCode::invalid_argument,
                 [&] { store->record_failure("k", t0, faceproof::LockoutRule{5, 2 * 86'400'000ll, 1}); });
}

// What the service does after each deletion: with secure_delete the deleted rows are zeroed in the
// database file, and the checkpoint takes their earlier copies out of the write-ahead log, with no
// VACUUM. (PostgreSQL cannot without VACUUM FULL: erase_deleted says so.)
TEST_P(StoreTest, EraseDeletedLeavesNoByteOfADeletedTemplate) {
    auto store = open();
    if (!is_sqlite()) {
        EXPECT_FALSE(store->erase_deleted());
        return;
    }
    std::random_device rd;
    std::vector<std::uint8_t> secret(2048), image(6000);
    for (auto& b : secret) b = static_cast<std::uint8_t>(rd());
    for (auto& b : image) b = static_cast<std::uint8_t>(rd());
    Subject s = make_subject("acme", "forget-me", 1);
    s.templates[0].sealed = secret;
    s.templates[0].sealed_image = image;
    store->enrol(s);
    store->enrol(make_subject("acme", "keep-me", 2));
    ASSERT_TRUE(occurs(std::vector<std::uint8_t>(secret.begin() + 1000, secret.begin() + 1032)));
    ASSERT_TRUE(store->remove("acme", "forget-me"));
    EXPECT_TRUE(store->erase_deleted());
    const auto files = db_->files();
    EXPECT_TRUE(windows_found(files, secret).empty());
    EXPECT_TRUE(windows_found(files, image).empty());
    EXPECT_TRUE(store->find("acme", "keep-me"));
}


TEST_P(StoreTest, LivenessSessionsAreSingleUseAndExpire) {
    auto store = open();
    faceproof::LivenessSessionRecord s;
    s.id = "0123456789abcdef0123456789abcdef";
    s.tenant = "acme";
    s.key_id = "k1";
    s.mode = "motion";
    s.challenge = R"({"nonce":"x"})";
    s.token_hash = "ab";
    s.created_unix_ms = 1'000;
    s.expires_unix_ms = 61'000;
    store->create_session(s);
    expect_error(ErrorCode::conflict, [&] { store->create_session(s); });
    auto bad = s;
    bad.id = "other";
    bad.expires_unix_ms = bad.created_unix_ms;
    expect_error(ErrorCode::invalid_argument, [&] { store->create_session(bad); });
    ASSERT_TRUE(store->find_session(s.id));
    EXPECT_EQ(store->find_session(s.id)->challenge, s.challenge);
    EXPECT_FALSE(store->find_session("missing"));

    // Open -> capturing only before expiry, and only once (a second store connection races it).
    EXPECT_FALSE(store->advance_session(s.id, "open", "capturing", 61'000));
    auto second = open();
    EXPECT_TRUE(store->advance_session(s.id, "open", "capturing", 60'999));
    EXPECT_FALSE(second->advance_session(s.id, "open", "capturing", 2'000));
    expect_error(ErrorCode::invalid_argument, [&] { store->finish_session(s.id, "open", "{}", "", {}); });
    const std::vector<std::uint8_t> sealed{1, 2, 3, 4};
    store->finish_session(s.id, "decided", R"({"decision":"live"})", "key", sealed);
    expect_error(ErrorCode::conflict, [&] { store->finish_session(s.id, "decided", "{}", "", {}); });
    EXPECT_EQ(store->find_session(s.id)->state, "decided");

    // The probe is taken once, and erased.
    const auto taken = second->take_session_probe(s.id);
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->sealed_probe, sealed);
    EXPECT_EQ(taken->result, R"({"decision":"live"})");
    EXPECT_FALSE(store->take_session_probe(s.id));
    const auto used = store->find_session(s.id);
    EXPECT_EQ(used->state, "used");
    EXPECT_TRUE(used->sealed_probe.empty());

    EXPECT_EQ(store->purge_sessions(61'000), 0);
    EXPECT_EQ(store->purge_sessions(61'001), 1);
    EXPECT_FALSE(store->find_session(s.id));
}

INSTANTIATE_TEST_SUITE_P(Store, StoreTest, ::testing::Values(std::string("sqlite"), std::string("postgresql")),
                         [](const auto& info) { return info.param; });

TEST(StoreOpen, Urls) {
    expect_error(ErrorCode::invalid_argument, [] { Store::open("mysql://x"); });
    expect_error(ErrorCode::invalid_argument, [] { Store::open("/tmp/x.db"); });
    expect_error(ErrorCode::store_error, [] { Store::open("sqlite:/nonexistent-dir/sub/x.db"); });
    expect_error(ErrorCode::store_error, [] { Store::open("postgres://faceproof@/x?host=/nonexistent-faceproof-dir"); });
}

// No server behind the URL (a socket directory that does not exist): store_error with libpq's
// message, at once, and never the password.
TEST(StoreOpen, UnreachablePostgresFailsFastWithoutPassword) {
    const std::string password = "pw-s3cret";
    const std::vector<std::string> urls = {
        "postgresql://faceproof:" + password + "@/faceproof?host=/nonexistent/faceproof-sockets&port=5999",
        "postgresql://faceproof@/faceproof?host=/nonexistent/faceproof-sockets&connect_timeout=2&password=" + password,
        "postgresql://faceproof:" + password + "%zz@/faceproof",  // libpq cannot parse it and quotes the bad part
    };
    for (const auto& url : urls) {
        const auto started = std::chrono::steady_clock::now();
        try {
            Store::open(url);
            ADD_FAILURE() << "opened " << url;
        } catch (const Error& e) {
            const std::string what = e.what();
            EXPECT_EQ(e.code(), ErrorCode::store_error) << what;
            EXPECT_NE(what.find("PostgreSQL"), std::string::npos) << what;
            EXPECT_EQ(what.find(password), std::string::npos) << what;
        }
        EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5)) << url;
    }
}

TEST(StoreOpen, DefaultPathUnderXdgDataHome) {
    std::string pattern = (fs::temp_directory_path() / "faceproof-xdg-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    const fs::path dir = pattern;
    const char* old = std::getenv("XDG_DATA_HOME");
    const std::string saved = old ? old : "";
    setenv("XDG_DATA_HOME", dir.c_str(), 1);
    try {
        Store::open("sqlite:")->enrol(make_subject("acme", "cust-1"));
    } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
    }
    if (old) setenv("XDG_DATA_HOME", saved.c_str(), 1);
    else unsetenv("XDG_DATA_HOME");
    EXPECT_TRUE(fs::exists(dir / "faceproof" / "faceproof.db"));
    EXPECT_EQ(fs::status(dir / "faceproof").permissions() & (fs::perms::group_all | fs::perms::others_all),
              fs::perms::none);
    fs::remove_all(dir);
}

}  // namespace
