// Two `faceproof serve` processes on one PostgreSQL database (the server started by
// scripts/with_postgres.sh): an enrolment through node A is found through node B within 2 s, a
// deletion through B is honoured by A, a restarted node rebuilds its index from the database, and a
// liveness session created on one node is captured and verified on the other.
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
#include "test_server_support.hpp"
#include "test_support.hpp"

extern char** environ;
namespace fp = faceproof;
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

using Node = fptest::ServeProcess;

TEST(TwoNodes, SharePostgresAndFollowEachOther) {
    const char* base = std::getenv("FACEPROOF_TEST_POSTGRES_URL");
    if (!base) GTEST_SKIP() << "no PostgreSQL server: run under scripts/with_postgres.sh (as scripts/test.sh does)";
    if (const auto problem = fptest::engine_prerequisites_problem(); !problem.empty()) FAIL() << problem;
    fptest::TempDir dir("faceproof-nodes");
    const std::string schema = fptest::create_postgres_schema("nodes");
    const std::string url = fptest::postgres_schema_url(schema);
    fp::DataKey::generate_file(dir / "data.key");
    std::string key;
    {
        auto store = fp::Store::open(url);
        key = fp::create_api_key(*store, "acme", fp::ApiRole::operator_role).key;
    }
    // Two people's faces from a face-api photo, each with a second capture.
    const auto& [photo, faces, templates] = fptest::group_photo();
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

    // A liveness session lives in the database: created on A, captured on B with its client token,
    // its best frame verified on A (once: B then refuses).
    const auto created = a->client().Post("/v1/liveness/sessions", auth, R"({"mode":"motion"})", "application/json");
    ASSERT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
    const json session = json::parse(created->body);
    const std::string id = session["session_id"];
    const httplib::Headers token{{"Authorization", "Bearer " + session["client_token"].get<std::string>()}};
    httplib::MultipartFormDataItems frames;
    std::string times;
    for (int i = 0; i < 9; ++i) {
        frames.push_back({"frame", seconds[0], "f.jpg", "image/jpeg"});
        times += (i ? "," : "") + std::to_string(i * 100);
    }
    frames.push_back({"timestamps_ms", times, "", ""});
    const auto captured = b.client().Post("/v1/liveness/sessions/" + id + "/capture", token, frames);
    ASSERT_TRUE(captured && captured->status == 200) << (captured ? captured->body : "no answer");
    EXPECT_EQ(json::parse(captured->body)["decision"], "not_live");
    const auto status = a->client().Get("/v1/liveness/sessions/" + id, token);
    ASSERT_TRUE(status && status->status == 200);
    EXPECT_EQ(json::parse(status->body)["state"], "decided");
    const httplib::MultipartFormDataItems verify{{"reference", crops[0], "r.jpg", "image/jpeg"},
                                                 {"liveness_session", id, "", ""}};
    const auto verified = a->client().Post("/v1/verify", auth, verify);
    ASSERT_TRUE(verified && verified->status == 200) << (verified ? verified->body : "no answer");
    EXPECT_EQ(json::parse(verified->body)["liveness"]["session_id"], id);
    const auto again = b.client().Post("/v1/verify", auth, verify);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 409) << again->body;
    a.reset();
    b.stop();
    fptest::drop_postgres_schema(schema);
}

}  // namespace
