// Two `faceproof serve` processes on one PostgreSQL database (the server started by
// scripts/with_postgres.sh): an enrolment through node A is found through node B within 2 s, a
// deletion through B is honoured by A, and a restarted node rebuilds its index from the database.
#include <gtest/gtest.h>

#include <httplib.h>
#include <postgresql/libpq-fe.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "faceproof/api_keys.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/engine.hpp"
#include "test_support.hpp"

extern char** environ;
namespace fp = faceproof;
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string exec_sql(const std::string& url, const std::string& sql) {
    PGconn* c = PQconnectdb(url.c_str());
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
        err = PQerrorMessage(c);
    } else {
        PGresult* r = PQexec(c, sql.c_str());
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) err = PQerrorMessage(c);
        PQclear(r);
    }
    PQfinish(c);
    return err;
}

// One `faceproof serve` child process on a free port; its stderr goes to a log file.
class Node {
public:
    Node(const std::string& db, const fs::path& key, const fs::path& log) : log_(log) {
        std::vector<std::string> args{FACEPROOF_CLI_PATH, "serve", "--listen", "127.0.0.1:0", "--db", db,
                                      "--key-file", key.string(), "--workers", "1"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&actions);
        // The port is in the log: "listening on http://127.0.0.1:PORT/".
        const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+)/)");
        for (auto deadline = Clock::now() + std::chrono::seconds(60); Clock::now() < deadline && pid_ > 0;) {
            std::smatch m;
            const std::string text = fptest::read_text(log_);
            if (std::regex_search(text, m, listening)) {
                port_ = std::stoi(m[1]);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        for (auto deadline = Clock::now() + std::chrono::seconds(30); port_ && Clock::now() < deadline;) {
            auto r = client().Get("/readyz");
            if (r && r->status == 200) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    ~Node() { stop(); }
    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    bool up() const { return port_ > 0; }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(60);
        return c;
    }
    std::string log() const { return fptest::read_text(log_); }

private:
    fs::path log_;
    pid_t pid_ = -1;
    int port_ = 0;
};

TEST(TwoNodes, SharePostgresAndFollowEachOther) {
    const char* base = std::getenv("FACEPROOF_TEST_POSTGRES_URL");
    if (!base) GTEST_SKIP() << "no PostgreSQL server: run under scripts/with_postgres.sh (as scripts/test.sh does)";
    if (const auto problem = fptest::engine_prerequisites_problem(); !problem.empty()) FAIL() << problem;
    fptest::TempDir dir("faceproof-nodes");
    std::random_device rd;
    const std::string schema = "nodes_" + std::to_string(rd());
    ASSERT_EQ(exec_sql(base, "CREATE SCHEMA " + schema), "");
    const std::string url = std::string(base) + (std::string(base).find('?') == std::string::npos ? "?" : "&") +
                            "options=-csearch_path%3D" + schema;
    fp::DataKey::generate_file(dir / "data.key");
    std::string key;
    {
        auto store = fp::Store::open(url);
        key = fp::create_api_key(*store, "acme", fp::ApiRole::operator_role).key;
    }
    // Two people's faces from a face-api photo, each with a second capture.
    auto engine = fp::Engine::create(fptest::shared_models());
    const cv::Mat photo = fptest::load_sample(6);
    const auto faces = engine->detect(photo);
    ASSERT_GE(faces.size(), 2u);
    std::vector<std::string> crops, seconds;
    for (int i = 0; i < 2; ++i) {
        const cv::Mat crop = fptest::crop(photo, fptest::grow_box(faces[i].box, 0.6, photo.size()));
        std::vector<std::uint8_t> a, b;
        cv::imencode(".jpg", crop, a);
        cv::imencode(".jpg", fptest::degraded_copy(crop), b);
        crops.emplace_back(a.begin(), a.end());
        seconds.emplace_back(b.begin(), b.end());
    }
    const httplib::Headers auth{{"Authorization", "Bearer " + key}};
    const std::string consent = R"({"purpose":"identity-proofing","legal_basis":"consent","notice_version":"v1",)"
                                R"("given_at":"2026-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"})";
    auto enrol = [&](const Node& n, const std::string& subject, const std::string& image) {
        httplib::MultipartFormDataItems f{{"image", image, "a.jpg", "image/jpeg"}, {"subject", subject, "", ""},
                                          {"consent", consent, "", ""}, {"profile", "document", "", ""}};
        auto r = n.client().Post("/v1/subjects", auth, f);
        return r ? r->status : 0;
    };
    auto found_on = [&](const Node& n, const std::string& image) -> std::string {
        httplib::MultipartFormDataItems f{{"image", image, "p.jpg", "image/jpeg"}};
        auto r = n.client().Post("/v1/search", auth, f);
        if (!r || r->status != 200) return "error";
        const json j = json::parse(r->body);
        return j["found"] ? j["candidates"][0]["subject"].get<std::string>() : "";
    };
    // Polls until pred holds; returns the seconds it took, or -1 after the limit.
    auto within = [](double limit_s, const std::function<bool()>& pred) {
        const auto start = Clock::now();
        while (std::chrono::duration<double>(Clock::now() - start).count() < limit_s) {
            if (pred()) return std::chrono::duration<double>(Clock::now() - start).count();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return -1.0;
    };

    auto a = std::make_unique<Node>(url, dir / "data.key", dir / "a.log");
    Node b(url, dir / "data.key", dir / "b.log");
    ASSERT_TRUE(a->up()) << a->log();
    ASSERT_TRUE(b.up()) << b.log();
    EXPECT_EQ(found_on(b, seconds[0]), "");  // b's index for acme is loaded now (empty)

    ASSERT_EQ(enrol(*a, "alice", crops[0]), 201);
    const double seen = within(2.0, [&] { return found_on(b, seconds[0]) == "alice"; });
    EXPECT_GE(seen, 0) << "node B did not find the subject enrolled through A within 2 s";
    std::cout << "[ two nodes ] enrolled on A, found on B after " << seen << " s\n";

    auto del = b.client().Delete("/v1/subjects/alice", auth);
    ASSERT_TRUE(del);
    ASSERT_EQ(del->status, 200);
    const double gone = within(2.0, [&] { return found_on(*a, seconds[0]).empty(); });
    EXPECT_GE(gone, 0) << "node A still found the subject deleted through B after 2 s";
    std::cout << "[ two nodes ] deleted on B, gone on A after " << gone << " s\n";

    // A restarts; meanwhile B enrols someone. The new A rebuilds its index from the database.
    a->stop();
    ASSERT_EQ(enrol(b, "bob", crops[1]), 201);
    a = std::make_unique<Node>(url, dir / "data.key", dir / "a2.log");
    ASSERT_TRUE(a->up()) << a->log();
    EXPECT_EQ(found_on(*a, seconds[1]), "bob");
    EXPECT_EQ(found_on(*a, seconds[0]), "");
    a.reset();
    b.stop();
    EXPECT_EQ(exec_sql(base, "DROP SCHEMA " + schema + " CASCADE"), "");
}

}  // namespace
