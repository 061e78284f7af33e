// The store a command opens: a missing SQLite file is an error unless the command may be the first
// to write (and then it says that it made one); store files and the directories faceproof makes
// are owner-only; `subjects list` says when more subjects follow; consent records are sane — the
// same refusals from the CLI, the JSON parser the HTTP API uses, the HTTP API itself and both stores.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include <httplib.h>
#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include "faceproof/api_keys.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/server.hpp"
#include "faceproof/store.hpp"
#include "report/registry_json.hpp"
#include "store/record_checks.hpp"
#include "store/rfc3339.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using fp::ErrorCode;
using fp::Store;
using fp::StoreOpening;
using fptest::expect_error_code;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
        ADD_FAILURE() << "cannot stat " << p << ": " << std::strerror(errno);
        return 0;
    }
    return st.st_mode & 07777;
}

// Sets environment variables for the scope of one test (each test runs in its own process under
// ctest, but the variables are restored anyway).
class ScopedEnv {
public:
    void set(const std::string& name, const std::optional<std::string>& value) {
        const char* old = std::getenv(name.c_str());
        saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
        if (value) ::setenv(name.c_str(), value->c_str(), 1);
        else ::unsetenv(name.c_str());
    }
    ~ScopedEnv() {
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
            if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
            else ::unsetenv(it->first.c_str());
        }
    }

private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

fptest::CliResult cli(const std::vector<std::string>& args, std::vector<std::string> env = {}) {
    fptest::CliOptions options;
    options.timeout = 120s;
    options.env = std::move(env);
    const auto r = fptest::run_cli(args, options);
    EXPECT_FALSE(r.timed_out) << testing::PrintToString(args);
    return r;
}

json error_of(const fptest::CliResult& r) {
    const json j = json::parse(r.out, nullptr, false);
    return j.is_discarded() ? json::object() : j.value("error", json::object());
}

fp::Consent valid_consent() {
    return fp::Consent{"identity-proofing", "consent", "notice-v3", "2024-01-01T00:00:00Z", "2099-01-01T00:00:00Z"};
}

fp::Subject subject(const std::string& reference) {
    fp::Subject s;
    s.tenant = "default";
    s.reference = reference;
    s.consent = valid_consent();
    return s;
}

std::string consent_text(const fp::Consent& c) { return fp::consent_json(c).dump(); }

// --- Store::open ---------------------------------------------------------------------------------

TEST(StoreOpening, ExistingOnlyRefusesWhatIsNotAnExistingDatabase) {
    fptest::TempDir dir("faceproof-open");
    const fs::path typo = dir / "typo.db";
    std::string msg = expect_error_code(ErrorCode::store_error,
                                        [&] { Store::open("sqlite:" + typo.string(), StoreOpening::existing_only); });
    EXPECT_NE(msg.find("no database at " + typo.string()), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(typo)) << "a mistyped path must not become a new, empty store";
    // Neither does a missing directory, whatever the opening.
    expect_error_code(ErrorCode::store_error,
                      [&] { Store::open("sqlite:" + (dir / "no/such/dir.db").string(), StoreOpening::create_if_missing); });
    EXPECT_FALSE(fs::exists(dir / "no"));
    // What is there must be a database file.
    msg = expect_error_code(ErrorCode::store_error,
                            [&] { Store::open("sqlite:" + dir.path().string(), StoreOpening::create_if_missing); });
    EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;
    ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
    msg = expect_error_code(ErrorCode::store_error,
                            [&] { Store::open("sqlite:" + (dir / "fifo").string(), StoreOpening::existing_only); });
    EXPECT_NE(msg.find("FIFO"), std::string::npos) << msg;
}

TEST(StoreOpening, CreateIfMissingReportsItAndMakesOwnerOnlyFiles) {
    fptest::TempDir dir("faceproof-open");
    const fs::path db = dir / "new.db";
    const std::string url = "sqlite:" + db.string();
    fp::OpenedStore opened = Store::open(url, StoreOpening::create_if_missing);
    EXPECT_EQ(opened.created, db.string());
    opened.store->enrol(subject("cust-1"));  // a write: the -wal and -shm files exist while it is open
    ASSERT_TRUE(fs::exists(db.string() + "-wal"));
    ASSERT_TRUE(fs::exists(db.string() + "-shm"));
    EXPECT_EQ(mode_of(db), 0600u);
    EXPECT_EQ(mode_of(db.string() + "-wal"), 0600u);
    EXPECT_EQ(mode_of(db.string() + "-shm"), 0600u);
    // Opened again: nothing created, the data is there.
    fp::OpenedStore again = Store::open(url, StoreOpening::create_if_missing);
    EXPECT_EQ(again.created, "");
    EXPECT_TRUE(Store::open(url, StoreOpening::existing_only).store->find("default", "cust-1"));
    // The one-argument form is the server's and creates.
    EXPECT_TRUE(Store::open("sqlite:" + (dir / "other.db").string()));
    EXPECT_EQ(mode_of(dir / "other.db"), 0600u);
}

TEST(StoreOpening, DefaultStoreFollowsTheSameRule) {
    fptest::TempDir dir("faceproof-open");
    const fs::path xdg = dir / "home" / "data";
    ScopedEnv env;
    env.set("XDG_DATA_HOME", xdg.string());
    const std::string msg =
        expect_error_code(ErrorCode::store_error, [] { Store::open("sqlite:", StoreOpening::existing_only); });
    EXPECT_NE(msg.find((xdg / "faceproof" / "faceproof.db").string()), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(dir / "home")) << "refusing creates nothing, not even the directory";

    fp::OpenedStore opened = Store::open("sqlite:", StoreOpening::create_if_missing);
    EXPECT_EQ(opened.created, (xdg / "faceproof" / "faceproof.db").string());
    for (const fs::path& d : {dir / "home", xdg, xdg / "faceproof"}) EXPECT_EQ(mode_of(d), 0700u) << d;
    EXPECT_EQ(mode_of(xdg / "faceproof" / "faceproof.db"), 0600u);
}

// --- the CLI -------------------------------------------------------------------------------------

class CliStore : public testing::Test {
protected:
    void SetUp() override {
        fptest::save_image(image_, fptest::gradient_image(320, 240));
        fptest::write_text(consent_, consent_text(valid_consent()));
        fp::DataKey::generate_file(key_);
    }
    fptest::TempDir dir_{"faceproof-cli-store"};
    fs::path image_ = dir_ / "blank.png", consent_ = dir_ / "consent.json", key_ = dir_ / "key";
};

TEST_F(CliStore, MistypedDbIsRefusedByEveryCommandThatDoesNotCreate) {
    const fs::path typo = dir_ / "typo.db";
    const std::string db = "--db=sqlite:" + typo.string(), key = "--key-file=" + key_.string();
    const std::vector<std::vector<std::string>> commands = {
        {"search", image_.string(), key},       {"subjects", "list"},         {"subjects", "show", "x"},
        {"subjects", "delete", "x"},            {"purge"},                    {"audit", "list"},
        {"audit", "verify"},                    {"api-keys", "list"},         {"api-keys", "revoke", "0123456789abcdef"},
        {"keys", "rotate", "--new-key-file", key_.string(), key}};
    for (auto args : commands) {
        args.push_back(db);
        args.push_back("--json");
        const auto r = cli(args);
        EXPECT_EQ(r.exit_code, 2) << fptest::describe(r);  // not 1: "no match" must never come from a typo
        EXPECT_EQ(error_of(r).value("code", ""), "store_error") << fptest::describe(r);
        EXPECT_NE(error_of(r).value("message", "").find(typo.string()), std::string::npos) << fptest::describe(r);
        EXPECT_FALSE(fs::exists(typo)) << testing::PrintToString(args);
    }
    // The default store too: nothing there on a fresh machine, nothing listed from nothing.
    const fs::path xdg = dir_ / "xdg";
    const auto r = cli({"subjects", "list", "--db=sqlite:"}, {"XDG_DATA_HOME=" + xdg.string()});
    EXPECT_EQ(r.exit_code, 2) << fptest::describe(r);
    EXPECT_NE(r.err.find("no database at " + (xdg / "faceproof" / "faceproof.db").string()), std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(xdg));
}

TEST_F(CliStore, CommandsThatWriteFirstCreateTheStoreAndSaySo) {
    const fs::path store = dir_ / "new.db";
    const std::string db = "--db=sqlite:" + store.string();
    // enroll: refused here (no face), but the refusal is audited, so the store is made.
    auto r = cli({"enroll", "--subject", "s-1", "--consent", consent_.string(), image_.string(), db,
                  "--key-file=" + key_.string(), "--json"});
    EXPECT_EQ(r.exit_code, 2) << fptest::describe(r);
    EXPECT_NE(r.err.find("faceproof: created the store " + store.string() + "\n"), std::string::npos) << r.err;
    EXPECT_EQ(mode_of(store), 0600u);
    // Once there, nothing more is said, and the other commands open it.
    r = cli({"subjects", "list", db});
    EXPECT_EQ(r.exit_code, 0) << fptest::describe(r);
    EXPECT_EQ(r.err, "");

    // The -wal and -shm files, while a connection keeps them (they go when the last one closes).
    auto keep = Store::open("sqlite:" + store.string(), StoreOpening::existing_only).store;
    keep->last_audit();
    r = cli({"api-keys", "create", "--tenant", "acme", db});
    EXPECT_EQ(r.exit_code, 0) << fptest::describe(r);
    for (const char* suffix : {"", "-wal", "-shm"}) EXPECT_EQ(mode_of(store.string() + suffix), 0600u) << suffix;
    keep.reset();

    // serve says so too (it serves until stopped: the run is cut short once it has started).
    const fs::path served = dir_ / "served.db";
    fptest::CliOptions options;
    options.timeout = 8s;
    r = fptest::run_cli({"serve", "--listen", "127.0.0.1:0", "--db=sqlite:" + served.string(),
                         "--key-file=" + key_.string()}, options);
    EXPECT_NE(r.err.find("faceproof: created the store " + served.string()), std::string::npos) << fptest::describe(r);
    EXPECT_EQ(mode_of(served), 0600u);

    // api-keys create makes a store too.
    const fs::path keys = dir_ / "keys.db";
    r = cli({"api-keys", "create", "--tenant", "acme", "--db=sqlite:" + keys.string()});
    EXPECT_EQ(r.exit_code, 0) << fptest::describe(r);
    EXPECT_NE(r.err.find("faceproof: created the store " + keys.string()), std::string::npos) << r.err;
    EXPECT_EQ(mode_of(keys), 0600u);
}

TEST_F(CliStore, VerifyStartsTheDefaultStoreOnAFreshMachine) {
    ASSERT_TRUE(fptest::engine_prerequisites_problem().empty()) << fptest::engine_prerequisites_problem();
    // No --db, no $FACEPROOF_DB: the embedded store in the XDG data dir, as in scripts/demo.sh.
    const fs::path xdg = dir_ / "fresh" / "share";
    const std::vector<std::string> env = {"XDG_DATA_HOME=" + xdg.string(), "FACEPROOF_DB="};
    auto r = cli({"verify", "--no-require-liveness", fptest::sample_path(1).string(), fptest::sample_path(2).string()},
                 env);
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << fptest::describe(r);
    const fs::path db = xdg / "faceproof" / "faceproof.db";
    EXPECT_NE(r.err.find("faceproof: created the store " + db.string()), std::string::npos) << r.err;
    for (const fs::path& d : {dir_ / "fresh", xdg, xdg / "faceproof"}) EXPECT_EQ(mode_of(d), 0700u) << d;
    EXPECT_EQ(mode_of(db), 0600u);
    r = cli({"audit", "list", "--json"}, env);
    ASSERT_EQ(r.exit_code, 0) << fptest::describe(r);
    const json entries = json::parse(r.out)["entries"];
    ASSERT_EQ(entries.size(), 1u) << r.out;
    EXPECT_EQ(entries[0]["action"], "verify");
}

TEST_F(CliStore, VerifyMakesNoStoreBeforeItCanDecide) {
    const fs::path store = dir_ / "audit.db";
    auto r = cli({"verify", (dir_ / "no-such.jpg").string(), image_.string(), "--db=sqlite:" + store.string()});
    EXPECT_EQ(r.exit_code, 2) << fptest::describe(r);
    r = cli({"verify", image_.string(), image_.string(), "--fmr", "0.4", "--db=sqlite:" + store.string()});
    EXPECT_EQ(r.exit_code, 64) << fptest::describe(r);
    EXPECT_FALSE(fs::exists(store)) << "a mistyped image path or option makes no store";
    EXPECT_EQ(r.err.find("created the store"), std::string::npos) << r.err;
}

TEST_F(CliStore, SubjectsListSaysWhenMoreFollow) {
    const fs::path store = dir_ / "many.db";
    const std::string db = "--db=sqlite:" + store.string();
    {
        auto s = Store::open("sqlite:" + store.string(), StoreOpening::create_if_missing).store;
        for (int i = 0; i < 105; ++i) {
            char ref[16];
            std::snprintf(ref, sizeof ref, "s-%03d", i);
            s->enrol(subject(ref));
        }
    }
    auto lines = [](const std::string& out) { return std::count(out.begin(), out.end(), '\n'); };
    // Text: the first 100, and on stderr how many were shown and how to get the rest.
    auto r = cli({"subjects", "list", db});
    ASSERT_EQ(r.exit_code, 0) << fptest::describe(r);
    EXPECT_EQ(lines(r.out), 100);
    EXPECT_NE(r.err.find("listed 100 subjects from offset 0"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--offset 100"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--all"), std::string::npos) << r.err;
    // JSON: the same, machine-readable.
    json j = json::parse(cli({"subjects", "list", db, "--json"}).out);
    EXPECT_EQ(j["subjects"].size(), 100u);
    EXPECT_EQ(j["more"], true);
    EXPECT_EQ(j["next_offset"], 100);
    j = json::parse(cli({"subjects", "list", db, "--json", "--offset", "100"}).out);
    EXPECT_EQ(j["subjects"], json::array({"s-100", "s-101", "s-102", "s-103", "s-104"}));
    EXPECT_EQ(j["more"], false);
    EXPECT_TRUE(j["next_offset"].is_null());
    r = cli({"subjects", "list", db, "--offset", "100"});
    EXPECT_EQ(lines(r.out), 5);
    EXPECT_EQ(r.err, "") << "the last page says nothing more";
    // Exactly at the end is not "more".
    j = json::parse(cli({"subjects", "list", db, "--json", "--limit", "105"}).out);
    EXPECT_EQ(j["more"], false);
    j = json::parse(cli({"subjects", "list", db, "--json", "--limit", "104"}).out);
    EXPECT_EQ(j["more"], true);
    EXPECT_EQ(j["next_offset"], 104);
    // --all: everything, in order.
    r = cli({"subjects", "list", db, "--all"});
    EXPECT_EQ(lines(r.out), 105);
    EXPECT_EQ(r.err, "");
    j = json::parse(cli({"subjects", "list", db, "--all", "--json"}).out);
    ASSERT_EQ(j["subjects"].size(), 105u);
    EXPECT_EQ(j["subjects"][104], "s-104");
    EXPECT_EQ(j["more"], false);
    EXPECT_EQ(cli({"subjects", "list", db, "--all", "--offset", "3"}).exit_code, 64);
}

// --- consent sanity ------------------------------------------------------------------------------

std::string in_minutes(int minutes) {
    const std::int64_t ms = fp::store_detail::now_unix_ms() + std::int64_t{minutes} * 60'000;
    const std::time_t t = static_cast<std::time_t>(ms / 1000);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return text;
}

// Consent records that must be refused, with a fragment of the reason.
std::vector<std::pair<fp::Consent, std::string>> insane_consents() {
    std::vector<std::pair<fp::Consent, std::string>> out;
    auto with = [&](auto change, const std::string& why) {
        fp::Consent c = valid_consent();
        change(c);
        out.emplace_back(c, why);
    };
    with([](fp::Consent& c) { c.given_at = "2099-01-01T00:00:00Z"; }, "in the future");
    with([](fp::Consent& c) { c.given_at = in_minutes(10); }, "in the future");
    with([](fp::Consent& c) { c.purpose = std::string(100'000, 'p'); }, "\"purpose\" is longer than 256 characters");
    with([](fp::Consent& c) { c.legal_basis = std::string(257, 'l'); }, "\"legal_basis\" is longer than 256 characters");
    with([](fp::Consent& c) { c.notice_version = std::string(257, 'n'); }, "\"notice_version\" is longer");
    with([](fp::Consent& c) { c.purpose = "identity\nproofing"; }, "\"purpose\" contains a control character");
    with([](fp::Consent& c) { c.legal_basis = "consent\x1b[2J"; }, "\"legal_basis\" contains a control character");
    with([](fp::Consent& c) { c.notice_version = "v3\x7f"; }, "control character");
    with([](fp::Consent& c) { c.notice_version = "v3\xc2\x85"; }, "control character");  // U+0085 (C1)
    with([](fp::Consent& c) { c.purpose = "\xff\xfe"; }, "\"purpose\" is not valid UTF-8");
    with([](fp::Consent& c) { c.purpose = "\xc0\xaf"; }, "not valid UTF-8");          // overlong '/'
    with([](fp::Consent& c) { c.purpose = "\xed\xa0\x80"; }, "not valid UTF-8");      // a surrogate
    with([](fp::Consent& c) { c.purpose = "caf\xc3"; }, "not valid UTF-8");           // cut short
    with([](fp::Consent& c) { c.given_at = "2024-01-01T00:00:00." + std::string(60, '0') + "Z"; },
         "\"given_at\" is longer than 64 characters");
    with([](fp::Consent& c) { c.expires_at = "2099-01-01T00:00:00." + std::string(60, '0') + "Z"; },
         "\"expires_at\" is longer than 64 characters");
    return out;
}

TEST(ConsentSanity, CheckRefusesAndAcceptsAtTheBounds) {
    for (const auto& insane : insane_consents()) {
        // Named copies, not a structured binding: clang 14 (the sanitizer build) cannot capture those.
        const auto& consent = insane.first;
        const auto& why = insane.second;
        const std::string msg =
            expect_error_code(ErrorCode::consent_invalid, [&] { fp::store_detail::check_consent(consent); });
        EXPECT_NE(msg.find(why), std::string::npos) << why << " in: " << msg;
    }
    // At the bounds: 256 characters (of two bytes each), a given_at within the clock skew, a
    // fraction that keeps the time at 64 characters, letters of any script.
    fp::Consent c = valid_consent();
    c.purpose.clear();
    for (int i = 0; i < 256; ++i) c.purpose += "\xc3\xa9";  // é
    c.legal_basis = "consentement (RGPD art. 9(2)(a)) \xe2\x80\x94 \xe5\x90\x8c\xe6\x84\x8f \xf0\x9f\x93\x9d";
    c.given_at = in_minutes(2);
    EXPECT_NO_THROW(fp::store_detail::check_consent(c));
    c.given_at = "2024-01-01T00:00:00." + std::string(43, '0') + "Z";
    ASSERT_EQ(c.given_at.size(), 64u);
    EXPECT_NO_THROW(fp::store_detail::check_consent(c));
    c.purpose += "x";
    expect_error_code(ErrorCode::consent_invalid, [&] { fp::store_detail::check_consent(c); });
}

// The HTTP API parses consent with consent_from_json; the stores check again on enrolment. Each
// refuses with the same message.
TEST(ConsentSanity, JsonParsingAndBothStoresRefuseAlike) {
    fptest::TempDir dir("faceproof-consent");
    auto sqlite = Store::open("sqlite:" + (dir / "store.db").string());
    std::unique_ptr<Store> postgres;
    std::string schema;
    const char* pg_url = std::getenv("FACEPROOF_TEST_POSTGRES_URL");
    if (pg_url && *pg_url) {
        schema = "t_consent_" + std::to_string(::getpid());
        PGconn* conn = PQconnectdb(pg_url);
        PQclear(PQexec(conn, ("CREATE SCHEMA " + schema).c_str()));
        PQfinish(conn);
        const std::string base = pg_url;
        postgres = Store::open(base + (base.find('?') == std::string::npos ? "?" : "&") +
                               "options=-csearch_path%3D" + schema);
    }
    int n = 0;
    for (const auto& insane : insane_consents()) {
        // Named copies, not a structured binding: clang 14 (the sanitizer build) cannot capture those.
        const auto& consent = insane.first;
        const auto& why = insane.second;
        const std::string from_json =
            expect_error_code(ErrorCode::consent_invalid, [&] { fp::consent_from_json(fp::consent_json(consent)); });
        EXPECT_NE(from_json.find(why), std::string::npos) << why << " in: " << from_json;
        fp::Subject s = subject("s-" + std::to_string(++n));
        s.consent = consent;
        EXPECT_EQ(expect_error_code(ErrorCode::consent_invalid, [&] { sqlite->enrol(s); }), from_json);
        if (postgres) EXPECT_EQ(expect_error_code(ErrorCode::consent_invalid, [&] { postgres->enrol(s); }), from_json);
    }
    EXPECT_TRUE(sqlite->list("default", 10, 0).empty());
    if (postgres) {
        EXPECT_TRUE(postgres->list("default", 10, 0).empty());
        postgres.reset();
        PGconn* conn = PQconnectdb(pg_url);
        PQclear(PQexec(conn, ("DROP SCHEMA " + schema + " CASCADE").c_str()));
        PQfinish(conn);
    }
}

TEST_F(CliStore, EnrollRefusesInsaneConsentBeforeAnyWork) {
    const fs::path store = dir_ / "store.db";
    auto enroll = [&](const fp::Consent& consent) {
        fptest::write_text(dir_ / "c.json", consent_text(consent));
        return cli({"enroll", "--subject", "s-1", "--consent", (dir_ / "c.json").string(), image_.string(),
                    "--db=sqlite:" + store.string(), "--key-file=" + key_.string(), "--json"});
    };
    fp::Consent future = valid_consent();
    future.given_at = "2099-01-01T00:00:00Z";
    auto r = enroll(future);
    EXPECT_EQ(r.exit_code, 2) << fptest::describe(r);
    EXPECT_EQ(error_of(r).value("code", ""), "consent_invalid");
    EXPECT_NE(error_of(r).value("message", "").find("given_at 2099-01-01T00:00:00Z is in the future"),
              std::string::npos) << fptest::describe(r);
    fp::Consent wordy = valid_consent();
    wordy.purpose = std::string(10'000, 'p');
    r = enroll(wordy);
    EXPECT_EQ(error_of(r).value("code", ""), "consent_invalid") << fptest::describe(r);
    EXPECT_NE(error_of(r).value("message", "").find("\"purpose\" is longer than 256 characters"), std::string::npos)
        << fptest::describe(r);
    EXPECT_FALSE(fs::exists(store)) << "refused before the store is opened";
    // A 100 KB purpose does not even fit the consent file limit.
    wordy.purpose = std::string(100'000, 'p');
    r = enroll(wordy);
    EXPECT_EQ(error_of(r).value("code", ""), "io_error") << fptest::describe(r);
}

// `faceproof serve` on a fresh machine: Server::create makes the default store, the data key and
// their directory, all owner-only; its HTTP API refuses the consent the CLI refuses, alike.
TEST(ServerFiles, OwnerOnlyStoreKeyAndDirectoryAndSaneConsent) {
    ASSERT_TRUE(fptest::models_problem().empty()) << fptest::models_problem();
    fptest::TempDir dir("faceproof-serve-files");
    const fs::path xdg = dir / "fresh" / "share";
    const fs::path models = fptest::models_dir();  // resolved before XDG_DATA_HOME moves
    ScopedEnv env;
    env.set("XDG_DATA_HOME", xdg.string());
    env.set("FACEPROOF_DB", std::nullopt);
    env.set("FACEPROOF_KEY_FILE", std::nullopt);
    fp::ServerConfig config;
    config.host = "127.0.0.1";
    config.port = 0;
    config.workers = 1;
    config.models_dir = models;
    auto server = fp::Server::create(config);
    std::thread thread([&] { server->run(); });
    for (int i = 0; i < 500 && !server->ready(); ++i) std::this_thread::sleep_for(10ms);

    const fs::path data = xdg / "faceproof";
    for (const fs::path& d : {dir / "fresh", xdg, data}) EXPECT_EQ(mode_of(d), 0700u) << d;
    EXPECT_EQ(mode_of(data / "data.key"), 0600u);
    // The server's connections are open, so the -wal and -shm files are there.
    for (const char* f : {"faceproof.db", "faceproof.db-wal", "faceproof.db-shm"}) EXPECT_EQ(mode_of(data / f), 0600u) << f;

    // An explicit sqlite:PATH the server makes is owner-only too.
    fp::ServerConfig explicit_config = config;
    explicit_config.db = "sqlite:" + (dir / "explicit.db").string();
    explicit_config.key_file = data / "data.key";
    fp::Server::create(explicit_config).reset();
    EXPECT_EQ(mode_of(dir / "explicit.db"), 0600u);

    const std::string key =
        fp::create_api_key(*Store::open("sqlite:" + (data / "faceproof.db").string()), "acme", fp::ApiRole::operator_role).key;
    httplib::Client client("127.0.0.1", server->port());
    client.set_read_timeout(60);
    for (const auto& insane : insane_consents()) {
        // Named copies, not a structured binding: clang 14 (the sanitizer build) cannot capture those.
        const auto& consent = insane.first;
        const auto& why = insane.second;
        if (why.find("UTF-8") != std::string::npos) continue;  // a JSON form field cannot carry those bytes
        const httplib::MultipartFormDataItems form = {{"image", "not even an image", "a.jpg", "image/jpeg"},
                                                      {"subject", "cust-1", "", ""},
                                                      {"consent", consent_text(consent), "", "application/json"}};
        const auto r = client.Post("/v1/subjects", {{"Authorization", "Bearer " + key}}, form);
        ASSERT_TRUE(r) << why;
        EXPECT_EQ(r->status, 422) << why << ": " << r->body;
        const json body = json::parse(r->body, nullptr, false);
        EXPECT_EQ(body["error"]["code"], "consent_invalid") << r->body;
        const std::string expected =
            expect_error_code(ErrorCode::consent_invalid, [&] { fp::consent_from_json(fp::consent_json(consent)); });
        EXPECT_EQ(body["error"]["message"], expected) << why;
    }
    server->stop();
    thread.join();
}

}  // namespace
