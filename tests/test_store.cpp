// Store contract tests. Written against the abstract faceproof::Store so every backend runs the
// same suite: StoreTest is value-parameterised by backend name ("sqlite" now, "postgresql" to come,
// see backend_url). Tests that inspect raw database files or kill a writer are SQLite-specific and
// skip for server backends.
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "faceproof/error.hpp"
#include "faceproof/store.hpp"

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

// The URL of a fresh, empty database for one test; empty when the backend is not available here.
std::string backend_url(const std::string& backend, const fs::path& dir) {
    if (backend == "sqlite") return "sqlite:" + (dir / "store.db").string();
    // "postgresql": FACEPROOF_TEST_POSTGRES_URL with a fresh schema per test (with the backend).
    return {};
}

class StoreTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "faceproof-store-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        url_ = backend_url(GetParam(), dir_);
        if (url_.empty()) GTEST_SKIP() << GetParam() << " backend not available";
    }
    void TearDown() override {
        std::error_code ec;
        if (!dir_.empty()) fs::remove_all(dir_, ec);
    }
    std::unique_ptr<Store> open() { return Store::open(url_); }
    bool is_sqlite() const { return GetParam() == "sqlite"; }
    fs::path db_path() const { return dir_ / "store.db"; }

    // All bytes of the database files (db, -wal, -shm, -journal), for the SQLite backend.
    std::vector<std::vector<char>> raw_files() const {
        std::vector<std::vector<char>> out;
        for (const auto& entry : fs::directory_iterator(dir_)) {
            if (entry.path().filename().string().rfind("store.db", 0) != 0) continue;
            std::ifstream in(entry.path(), std::ios::binary);
            out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
        return out;
    }
    bool occurs(const std::vector<std::uint8_t>& needle) const {
        for (const auto& file : raw_files())
            if (std::search(file.begin(), file.end(), needle.begin(), needle.end(),
                            [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; }) != file.end())
                return true;
        return false;
    }
    // Runs a single-column query directly on the SQLite file.
    std::vector<std::string> sqlite_column(const char* sql) const {
        sqlite3* db = nullptr;
        std::vector<std::string> out;
        if (sqlite3_open_v2(db_path().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
            ADD_FAILURE() << "cannot open " << db_path();
            sqlite3_close(db);
            return out;
        }
        sqlite3_stmt* st = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        while (st && sqlite3_step(st) == SQLITE_ROW) {
            const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
            out.emplace_back(t ? t : "");
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return out;
    }

    fs::path dir_;
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
    if (is_sqlite()) {
        store.reset();
        EXPECT_EQ(sqlite_column("SELECT count(*) FROM consents"), (std::vector<std::string>{"1"}));
        EXPECT_EQ(sqlite_column("SELECT count(*) FROM templates"), (std::vector<std::string>{"1"}));
    }
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
    if (!is_sqlite()) return;
    const auto versions = sqlite_column("SELECT version FROM schema_migrations ORDER BY version");
    ASSERT_FALSE(versions.empty());
    EXPECT_EQ(versions.front(), "1");
    EXPECT_EQ(std::set<std::string>(versions.begin(), versions.end()).size(), versions.size());
    EXPECT_EQ(sqlite_column("SELECT count(*) FROM schema_migrations WHERE applied_at = ''"),
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
    EXPECT_THROW(store->reseal_templates([&](TemplateRecord& t) {
        if (++calls == 10) throw std::runtime_error("kms down");
        t.key_id = "k2";
        t.sealed = flip(t);
    }),
                 std::runtime_error);
    for (const auto& [key, t] : store->all_templates("acme")) ASSERT_EQ(t.key_id, "k1");

    std::vector<std::pair<SubjectKey, TemplateRecord>> before = store->all_templates("acme");
    store->reseal_templates([&](TemplateRecord& t) {
        EXPECT_EQ(t.key_id, "k1");
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
    if (!is_sqlite()) GTEST_SKIP() << "inspects raw database files";
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
    ASSERT_TRUE(occurs(secret)) << "positive control: the enrolled blob should be in the file";
    ASSERT_TRUE(occurs(image_slice)) << "positive control: the retained image should be in the file";
    {
        auto store = open();
        ASSERT_TRUE(store->remove("acme", "forget-me"));
        store->vacuum();
    }
    EXPECT_FALSE(occurs(secret)) << "the deleted template's bytes are still in the database files";
    EXPECT_FALSE(occurs(slice)) << "a 32-byte slice of the deleted template is still in the database files";
    EXPECT_FALSE(occurs(image_slice)) << "a 32-byte slice of the deleted image is still in the database files";
    EXPECT_TRUE(open()->find("acme", "keep-me"));
}

TEST_P(StoreTest, KilledWriterLeavesNoHalfWrittenSubject) {
    if (!is_sqlite()) GTEST_SKIP() << "kills a process writing to the database file";
    constexpr int kTemplates = 4;
    open().reset();  // migrations done before the writer starts
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
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
    EXPECT_EQ(sqlite_column("PRAGMA integrity_check"), (std::vector<std::string>{"ok"}));
    EXPECT_EQ(sqlite_column("SELECT count(*) FROM templates t LEFT JOIN subjects s ON s.id = t.subject_id"
                            " WHERE s.id IS NULL"),
              (std::vector<std::string>{"0"}));
}

INSTANTIATE_TEST_SUITE_P(Store, StoreTest, ::testing::Values(std::string("sqlite")),
                         [](const auto& info) { return info.param; });

TEST(StoreOpen, Urls) {
    try {
        Store::open("postgresql://localhost/faceproof");
        ADD_FAILURE() << "postgresql opened";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::store_error);
        EXPECT_STREQ(e.what(), "PostgreSQL backend not built yet");
    }
    expect_error(ErrorCode::invalid_argument, [] { Store::open("mysql://x"); });
    expect_error(ErrorCode::invalid_argument, [] { Store::open("/tmp/x.db"); });
    expect_error(ErrorCode::store_error, [] { Store::open("sqlite:/nonexistent-dir/sub/x.db"); });
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
