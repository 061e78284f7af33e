// Fault tests: the database server stopped and restarted under load, `faceproof serve` killed with
// SIGKILL under enrolment load (both backends), and a full disk. Their own executable and ctest
// entry (Faults), run under a private scripts/with_postgres.sh server, because stopping the server
// would break the other tests sharing it.
//
// What must hold in each: every acknowledged (2xx) enrolment is stored and audited; the audit chain
// verifies; failures during the fault are clear errors (503 store_error / overloaded, not 500 and
// never a hang); the service recovers by itself when the fault ends; nothing is corrupted.
#include <gtest/gtest.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "faceproof/audit_trail.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/registry.hpp"
#include "test_server_support.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kConsent = R"({"purpose":"identity-proofing","legal_basis":"consent","notice_version":"v1",)"
                             R"("given_at":"2026-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"})";

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string face_jpeg() {
    auto engine = fp::Engine::create(fptest::shared_models());
    const cv::Mat photo = fptest::load_sample(6);
    const auto faces = engine->detect(photo);
    const cv::Mat crop = fptest::crop(photo, fptest::grow_box(faces.at(0).box, 0.6, photo.size()));
    std::vector<std::uint8_t> out;
    cv::imencode(".jpg", crop, out);
    return {out.begin(), out.end()};
}

// Enrolments (allow_duplicate: one face, many references) from several clients until stopped; the
// references acknowledged with 201, and a count of every status seen.
class EnrolmentLoad {
public:
    // References are prefix + client + counter, so loads with other prefixes never collide.
    EnrolmentLoad(std::function<httplib::Client()> client, std::string key, std::string image, std::string prefix = "",
                  int clients = 3)
        : client_(std::move(client)), key_(std::move(key)), image_(std::move(image)) {
        for (int c = 0; c < clients; ++c)
            threads_.emplace_back([this, c, prefix] {
                for (int i = 0; !stop_; ++i) {
                    const std::string ref = prefix + "c" + std::to_string(c) + "-" + std::to_string(i);
                    httplib::MultipartFormDataItems f{{"image", image_, "a.jpg", "image/jpeg"},
                                                      {"subject", ref, "", ""},
                                                      {"consent", kConsent, "", ""},
                                                      {"profile", "document", "", ""},
                                                      {"allow_duplicate", "true", "", ""}};
                    auto client = client_();
                    client.set_connection_timeout(2);
                    client.set_read_timeout(60);
                    auto r = client.Post("/v1/subjects", {{"Authorization", "Bearer " + key_}}, f);
                    std::lock_guard lock(mutex_);
                    const int status = r ? r->status : 0;
                    ++statuses_[status];
                    if (status == 201) acknowledged_.push_back(ref);
                    if (!r) std::this_thread::sleep_for(std::chrono::milliseconds(20));
                }
            });
    }
    ~EnrolmentLoad() { stop(); }
    void stop() {
        stop_ = true;
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }
    std::map<int, int> statuses() const {
        std::lock_guard lock(mutex_);
        return statuses_;
    }
    std::vector<std::string> acknowledged() const {
        std::lock_guard lock(mutex_);
        return acknowledged_;
    }
    std::string describe() const {
        std::string out;
        for (const auto& [status, n] : statuses()) out += " " + std::to_string(status) + ":" + std::to_string(n);
        return out;
    }

private:
    std::function<httplib::Client()> client_;
    const std::string key_, image_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    std::map<int, int> statuses_;
    std::vector<std::string> acknowledged_;
    std::vector<std::thread> threads_;
};

// Every acknowledged reference is stored, every stored subject has its enrol audit entry, and the
// audit chain verifies.
void expect_acknowledged_stored_and_audited(const std::string& url, const std::vector<std::string>& acknowledged) {
    auto store = fp::Store::open(url);
    const auto stored_list = store->list("acme", 10'000'000, 0);
    const std::set<std::string> stored(stored_list.begin(), stored_list.end());
    std::set<std::string> audited;
    for (std::int64_t after = 0;;) {
        const auto rows = store->audit("acme", after, 5000);
        if (rows.empty()) break;
        for (const auto& r : rows)
            if (r.action == "enrol" && r.outcome == "enrolled") audited.insert(r.subject);
        after = rows.back().sequence;
    }
    for (const auto& ref : acknowledged) EXPECT_TRUE(stored.count(ref)) << ref << ": acknowledged (201) but not stored";
    for (const auto& ref : stored) EXPECT_TRUE(audited.count(ref)) << ref << ": stored without its audit entry";
    fp::AuditTrail trail(*store);
    std::int64_t entries = 0;
    EXPECT_TRUE(trail.verify(&entries).ok);
    std::cout << "[ fault ] " << acknowledged.size() << " acknowledged, " << stored.size() << " stored, " << entries
              << " audit entries, chain verified\n";
}

// --- PostgreSQL stopped and restarted under load -------------------------------------------------

TEST(Faults, PostgresStoppedAndRestartedUnderLoad) {
    const char* ctl = std::getenv("FACEPROOF_TEST_POSTGRES_CTL");
    if (!ctl || !std::getenv("FACEPROOF_TEST_POSTGRES_URL"))
        GTEST_SKIP() << "needs a private server: run as the Faults ctest entry (scripts/with_postgres.sh)";
    if (const auto problem = fptest::engine_prerequisites_problem(); !problem.empty()) FAIL() << problem;
    const std::string schema = fptest::create_postgres_schema("faults");
    fp::ServerConfig config;
    config.workers = 2;
    config.db = fptest::postgres_schema_url(schema);
    fptest::RunningServer server(config);
    const std::string key = server.key("acme", fp::ApiRole::operator_role);
    EnrolmentLoad load([&] { return server.client(); }, key, face_jpeg());
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const auto before = load.statuses();
    ASSERT_GT(before.count(201) ? before.at(201) : 0, 0) << "no enrolment succeeded before the fault:" << load.describe();

    ASSERT_EQ(std::system((std::string(ctl) + " stop >/dev/null").c_str()), 0);
    std::this_thread::sleep_for(std::chrono::seconds(3));
    auto ready = server.client().Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 503) << "readiness while the database is down";
    auto health = server.client().Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    const auto during = load.statuses();
    ASSERT_EQ(std::system((std::string(ctl) + " start >/dev/null").c_str()), 0);

    // The service recovers by itself: enrolments succeed again.
    const auto restarted = Clock::now();
    const int acknowledged_at_restart = static_cast<int>(load.acknowledged().size());
    double recovered_after = -1;
    while (seconds_since(restarted) < 60) {
        if (static_cast<int>(load.acknowledged().size()) > acknowledged_at_restart) {
            recovered_after = seconds_since(restarted);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
    load.stop();
    EXPECT_GE(recovered_after, 0) << "no enrolment succeeded within 60 s of the restart:" << load.describe();
    const int unavailable = (during.count(503) ? during.at(503) : 0) - (before.count(503) ? before.at(503) : 0);
    EXPECT_GT(unavailable, 0) << "requests during the outage should be 503:" << load.describe();
    for (const auto& [status, n] : load.statuses())
        EXPECT_TRUE(status == 201 || status == 503) << n << " responses with status " << status << ":" << load.describe();
    std::cout << "[ postgres restart ] statuses:" << load.describe() << "; recovered " << recovered_after
              << " s after the restart\n";
    expect_acknowledged_stored_and_audited(config.db, load.acknowledged());
    fptest::drop_postgres_schema(schema);
}

// --- `faceproof serve` killed with SIGKILL under enrolment load ----------------------------------

// "ok" when SQLite finds the database file intact.
std::string sqlite_integrity(const fs::path& file) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        return "cannot open";
    }
    std::string result;
    sqlite3_exec(
        db, "PRAGMA integrity_check",
        [](void* out, int, char** values, char**) {
            *static_cast<std::string*>(out) += values[0] ? values[0] : "";
            return 0;
        },
        &result, nullptr);
    sqlite3_close(db);
    return result;
}

void killed_server_under_load(const std::string& url) {
    if (const auto problem = fptest::engine_prerequisites_problem(); !problem.empty()) FAIL() << problem;
    fptest::TempDir dir("faceproof-kill9");
    fp::DataKey::generate_file(dir / "key");
    std::string key;
    {
        auto store = fp::Store::open(url);
        key = fp::create_api_key(*store, "acme", fp::ApiRole::operator_role).key;
    }
    const std::string image = face_jpeg();
    std::vector<std::string> acknowledged;
    for (int round = 0; round < 3; ++round) {
        fptest::ServeProcess serve(url, dir / "key", dir / ("serve" + std::to_string(round) + ".log"), 2);
        ASSERT_TRUE(serve.up()) << serve.log();
        {
            const int port = serve.port();
            EnrolmentLoad load([port] { return httplib::Client("127.0.0.1", port); }, key, image,
                               "round" + std::to_string(round) + "-");
            std::mt19937 rng(static_cast<unsigned>(round));
            std::this_thread::sleep_for(std::chrono::milliseconds(1500 + rng() % 1500));
            serve.kill_hard();
            load.stop();
            for (const auto& [status, n] : load.statuses())
                EXPECT_TRUE(status == 201 || status == 0) << n << " responses with status " << status << " (0: cut off)";
            std::cout << "[ kill -9 ] round " << round << " statuses:" << load.describe() << "\n";
            const auto ok = load.acknowledged();
            acknowledged.insert(acknowledged.end(), ok.begin(), ok.end());
        }
    }
    EXPECT_FALSE(acknowledged.empty());
    expect_acknowledged_stored_and_audited(url, acknowledged);
    if (url.rfind("sqlite:", 0) == 0) EXPECT_EQ(sqlite_integrity(url.substr(7)), "ok");
}

TEST(Faults, KilledServerUnderEnrolmentLoadSqlite) {
    fptest::TempDir dir("faceproof-kill9-db");
    const std::string url = "sqlite:" + (dir / "store.db").string();
    fp::Store::open(url).reset();
    killed_server_under_load(url);
}

TEST(Faults, KilledServerUnderEnrolmentLoadPostgres) {
    if (!std::getenv("FACEPROOF_TEST_POSTGRES_URL"))
        GTEST_SKIP() << "no PostgreSQL server: run under scripts/with_postgres.sh (the Faults ctest entry does)";
    const std::string schema = fptest::create_postgres_schema("kill9");
    killed_server_under_load(fptest::postgres_schema_url(schema));
    fptest::drop_postgres_schema(schema);
}

// --- a full disk ----------------------------------------------------------------------------------

fp::Capture synthetic_capture(std::mt19937& rng, std::size_t image_bytes) {
    std::normal_distribution<float> normal;
    std::vector<float> v(512);
    double norm = 0;
    for (auto& x : v) {
        x = normal(rng);
        norm += double(x) * x;
    }
    for (auto& x : v) x = static_cast<float>(x / std::sqrt(norm));
    fp::Capture c;
    c.face_template = fp::Template{fp::Calibration::shipped().model_id(), std::string(64, 'a'), v};
    c.quality.pass = true;
    c.encoded.resize(image_bytes);
    for (auto& b : c.encoded) b = static_cast<std::uint8_t>(rng());
    return c;
}

// The store on a 3 MiB filesystem, enrolments with retained images until it is full: a clear
// store_error, nothing half-written, the database intact and still readable and searchable.
TEST(Faults, FullDiskIsAClearStoreErrorAndCorruptsNothing) {
    fptest::TempDir dir("faceproof-full");
    const fs::path mount = dir / "small";
    fs::create_directories(mount);
    if (::mount("tmpfs", mount.c_str(), "tmpfs", 0, "size=3m") != 0)
        GTEST_SKIP() << "cannot mount a small tmpfs here (" << std::strerror(errno)
                     << "): the full-disk test needs root and mount permission";
    struct Unmount {
        fs::path path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount{mount};
    fp::DataKey::generate_file(dir / "key");
    const std::string url = "sqlite:" + (mount / "store.db").string();
    fp::RegistryOptions options;
    options.retain_images = true;
    std::vector<fp::DataKey> keys;
    keys.push_back(fp::DataKey::from_file(dir / "key"));
    auto registry = fp::Registry::open(fp::Store::open(url), std::move(keys), fp::Calibration::shipped(), options);
    std::mt19937 rng(23);
    const fp::Consent consent{"identity-proofing", "consent", "v1", "2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z"};
    std::vector<std::string> acknowledged;
    std::optional<fp::Error> failure;
    for (int i = 0; i < 1000 && !failure; ++i) {
        try {
            const std::string ref = "s" + std::to_string(i);
            if (registry->enrol("test", "acme", ref, consent, {synthetic_capture(rng, 100'000)}).enrolled)
                acknowledged.push_back(ref);
        } catch (const fp::Error& e) {
            failure = e;
        }
    }
    ASSERT_TRUE(failure) << "the 3 MiB filesystem never filled up";
    EXPECT_EQ(failure->code(), fp::ErrorCode::store_error) << failure->what();
    EXPECT_NE(std::string(failure->what()).find("full"), std::string::npos) << failure->what();
    std::cout << "[ full disk ] " << acknowledged.size() << " enrolments, then: " << failure->what() << "\n";
    // Reads still work in the same process, and after reopening.
    EXPECT_EQ(registry->subjects("acme", 10'000, 0).size(), acknowledged.size());
    registry.reset();
    expect_acknowledged_stored_and_audited(url, acknowledged);
    EXPECT_EQ(sqlite_integrity(mount / "store.db"), "ok");
}

}  // namespace
