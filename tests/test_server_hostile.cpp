// `faceproof serve` against hostile clients (a real server on loopback, raw sockets where a normal
// client would not misbehave): decoding bombs and oversized bursts are refused before decoding,
// slow or silent clients are cut off while /healthz keeps answering, connection and in-flight
// caps answer 503 at once, content types are exact, references are validated, a different face is
// not grafted onto a subject, an API deletion leaves no byte of the subject in the database files,
// and failed liveness checks lock out the key on every node.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "faceproof/engine.hpp"
#include "faceproof/store.hpp"
#include "test_server_support.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using fptest::RunningServer;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A raw TCP connection to the server.
class Socket {
public:
    explicit Socket(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~Socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool ok() const { return fd_ >= 0; }
    bool send(const std::string& bytes) { return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()); }
    // Everything the server sends until it closes the connection or `limit_s` passes.
    std::string read_until_closed(double limit_s, bool* closed = nullptr) {
        std::string out;
        const auto start = Clock::now();
        if (closed) *closed = false;
        while (seconds_since(start) < limit_s) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            char buffer[4096];
            const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) {
                if (closed) *closed = true;
                break;
            }
            out.append(buffer, static_cast<std::size_t>(n));
        }
        return out;
    }

private:
    int fd_ = -1;
};

std::string jpeg(const cv::Mat& image) {
    std::vector<std::uint8_t> out;
    cv::imencode(".jpg", image, out, {cv::IMWRITE_JPEG_QUALITY, 90});
    return {out.begin(), out.end()};
}
std::string text(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

httplib::Headers auth(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

httplib::MultipartFormDataItems images(const std::string& field, const std::vector<std::string>& files,
                                       std::initializer_list<std::pair<std::string, std::string>> fields = {}) {
    httplib::MultipartFormDataItems items;
    for (std::size_t i = 0; i < files.size(); ++i)
        items.push_back({field, files[i], field + std::to_string(i) + ".img", "application/octet-stream"});
    for (const auto& [name, value] : fields) items.push_back({name, value, "", ""});
    return items;
}

std::string error_code(const httplib::Result& r) {
    if (!r) return "no response";
    const json j = json::parse(r->body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
}

long peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

const std::string kConsent = R"({"purpose":"identity-proofing","legal_basis":"consent","notice_version":"v1",)"
                             R"("given_at":"2026-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"})";

class HostileServer : public testing::Test {
protected:
    // Enrols image as subject (document profile); the status.
    static int enrol(const RunningServer& server, const std::string& key, const std::string& subject,
                     const std::string& image) {
        auto r = server.client().Post(
            "/v1/subjects", auth(key),
            images("image", {image}, {{"subject", subject}, {"consent", kConsent}, {"profile", "document"}}));
        return r ? r->status : 0;
    }
    void SetUp() override {
        if (const auto problem = fptest::engine_prerequisites_problem(); !problem.empty()) FAIL() << problem;
    }
    // Two different people's faces (crops of a face-api photo), and a second capture of the first.
    static void faces(std::string& first, std::string& first_again, std::string& other) {
        const auto& [photo, found, templates] = fptest::group_photo();
        ASSERT_GE(found.size(), 2u);
        const cv::Mat a = fptest::crop(photo, fptest::grow_box(found[0].box, 0.6, photo.size()));
        const cv::Mat b = fptest::crop(photo, fptest::grow_box(found[1].box, 0.6, photo.size()));
        first = jpeg(a);
        first_again = jpeg(fptest::degraded_copy(a));
        other = jpeg(b);
    }
};

// Item 1 of the hostile pass: 2,000 empty progressive scans in a few KB. Refused inside a worker's
// slot (413), several at once, while /healthz answers.
TEST_F(HostileServer, ScanBombsAreRefusedAndHealthStaysFast) {
    fp::ServerConfig config;
    config.workers = 1;
    RunningServer server(config);
    const std::string key = server.key("acme", fp::ApiRole::operator_role);
    const std::string bomb = text(fptest::jpeg_with_extra_scans(fptest::gradient_image(640, 480, true), 2000));
    std::vector<std::future<std::pair<int, std::string>>> replies;
    const auto start = Clock::now();
    for (int i = 0; i < 5; ++i)
        replies.push_back(std::async(std::launch::async, [&] {
            auto r = server.client().Post("/v1/detect", auth(key), images("image", {bomb}));
            return std::make_pair(r ? r->status : 0, error_code(r));
        }));
    double worst_health = 0;
    for (int i = 0; i < 5; ++i) {
        const auto t = Clock::now();
        auto health = server.client().Get("/healthz");
        ASSERT_TRUE(health);
        EXPECT_EQ(health->status, 200);
        worst_health = std::max(worst_health, seconds_since(t));
    }
    for (auto& r : replies) {
        const auto [status, code] = r.get();
        EXPECT_TRUE(status == 413 || status == 503) << status << " " << code;  // 503: queue full
        if (status == 413) EXPECT_EQ(code, "image_too_large");
    }
    std::cout << "[ scan bombs ] " << bomb.size() << " bytes each, 5 at once answered in " << seconds_since(start)
              << " s; slowest /healthz meanwhile " << worst_health * 1000 << " ms\n";
}

// Item 2: counts and sizes are checked before anything is decoded.
TEST_F(HostileServer, ImagesAreCountedAndBudgetedBeforeDecoding) {
    fp::ServerConfig config;
    config.workers = 1;
    RunningServer server(config);
    const std::string key = server.key("acme", fp::ApiRole::operator_role);
    auto c = server.client();
    const std::string tiny = jpeg(fptest::gradient_image(32, 32));
    auto r = c.Post("/v1/liveness", auth(key), images("image", std::vector<std::string>(17, tiny)));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    r = c.Post("/v1/detect", auth(key), images("image", {tiny, tiny}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    r = c.Post("/v1/quality", auth(key), images("image", {tiny, tiny}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << r->body;
    // Sixteen 3 KB PNGs that would decode to 72 MB each: the request's budget says no at once.
    const std::string bomb = text(fptest::blank_png(6000, 4000));
    const long rss_before = peak_rss_mb();
    const auto start = Clock::now();
    r = c.Post("/v1/liveness", auth(key), images("image", std::vector<std::string>(16, bomb)));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413) << r->body;
    EXPECT_NE(r->body.find("per request"), std::string::npos) << r->body;
    std::cout << "[ decoding budget ] 16 x " << bomb.size() << " B pixel bombs refused in " << seconds_since(start)
              << " s; peak RSS of the test process " << rss_before << " -> " << peak_rss_mb() << " MB\n";
    // A 40 Mpx one is over the per-image limit from its header.
    r = c.Post("/v1/detect", auth(key), images("image", {text(fptest::blank_png(16384, 2441))}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413) << r->body;
}

// Item 8: six sockets sending a header byte every half second, and a Content-Length never sent,
// are closed by the server at their deadlines; /healthz answers meanwhile.
TEST_F(HostileServer, SlowAndSilentClientsAreCutOff) {
    fp::ServerConfig config;
    config.workers = 1;
    config.header_timeout_s = 2;
    config.max_connections_per_address = 12;
    RunningServer server(config);
    std::atomic<bool> stop{false};
    std::vector<std::future<double>> slow;
    for (int i = 0; i < 6; ++i)
        slow.push_back(std::async(std::launch::async, [&] {
            Socket s(server.port());
            if (!s.ok()) return -1.0;
            const auto start = Clock::now();
            const std::string request = "POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'a');
            for (char ch : request) {
                if (stop || !s.send(std::string(1, ch))) break;
                bool closed = false;
                s.read_until_closed(0.5, &closed);
                if (closed) return seconds_since(start);
            }
            return -1.0;  // never closed
        }));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (int i = 0; i < 5; ++i) {
        auto health = server.client().Get("/healthz");
        ASSERT_TRUE(health);
        EXPECT_EQ(health->status, 200);
    }
    for (auto& f : slow) {
        const double closed_after = f.get();
        EXPECT_GT(closed_after, 0) << "a slow client was never disconnected";
        EXPECT_LT(closed_after, 30) << "a slow client was held far beyond the 2 s header deadline";
    }
    stop = true;
    // A body announced and never sent: closed at header_timeout_s + length / min rate (~3.5 s here).
    Socket silent(server.port());
    ASSERT_TRUE(silent.ok());
    ASSERT_TRUE(silent.send("POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Content-Length: 100000\r\n\r\n{"));
    const auto start = Clock::now();
    bool closed = false;
    silent.read_until_closed(30, &closed);
    EXPECT_TRUE(closed) << "the connection waiting for a body that never comes was not closed";
    std::cout << "[ slow clients ] unsent body: closed after " << seconds_since(start) << " s\n";
    auto metrics = server.client().Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("faceproof_connections_timed_out_total "), std::string::npos);
}

// Connections over the per-address or total cap are answered 503 (JSON, Retry-After) and closed.
TEST_F(HostileServer, ConnectionCapsAnswer503AtOnce) {
    fp::ServerConfig config;
    config.workers = 1;
    config.max_connections_per_address = 3;
    RunningServer server(config);
    std::vector<std::unique_ptr<Socket>> idle;
    for (int i = 0; i < 3; ++i) idle.push_back(std::make_unique<Socket>(server.port()));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // accepted and counted
    Socket over(server.port());
    ASSERT_TRUE(over.ok());
    bool closed = false;
    const std::string reply = over.read_until_closed(5, &closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(reply.rfind("HTTP/1.1 503", 0), 0u) << reply;
    EXPECT_NE(reply.find("Retry-After:"), std::string::npos) << reply;
    EXPECT_NE(reply.find("\"overloaded\""), std::string::npos) << reply;
    idle.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto health = server.client().Get("/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);

    fp::ServerConfig total;
    total.workers = 1;
    total.max_connections = 2;
    RunningServer small(total);
    Socket one(small.port()), two(small.port());
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Socket three(small.port());
    EXPECT_EQ(three.read_until_closed(5).rfind("HTTP/1.1 503", 0), 0u);
}

// Bodies being received count against a budget: over it, 503 before the body is read.
TEST_F(HostileServer, InflightBodyBudgetAnswersBeforeReading) {
    fp::ServerConfig config;
    config.workers = 1;
    config.max_inflight_body_bytes = 1u << 20;
    RunningServer server(config);
    Socket s(server.port());
    ASSERT_TRUE(s.send("POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 2000000\r\n\r\n"));
    bool closed = false;
    const std::string reply = s.read_until_closed(10, &closed);
    EXPECT_EQ(reply.rfind("HTTP/1.1 503", 0), 0u) << reply;
    EXPECT_TRUE(closed);
}

TEST_F(HostileServer, ContentTypesAreExact) {
    fp::ServerConfig config;
    config.workers = 1;
    RunningServer server(config);
    const std::string key = server.key("acme", fp::ApiRole::operator_role);
    auto c = server.client();
    for (const char* type : {"application/jsonp", "text/json", "application/json; charset=utf-16",
                             "application/json;charset=latin1", "application/json-seq"}) {
        auto r = c.Post("/v1/detect", auth(key), "{}", type);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 415) << type;
    }
    for (const char* type : {"application/json", "application/json; charset=UTF-8", "Application/JSON"}) {
        auto r = c.Post("/v1/detect", auth(key), "{}", type);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400) << type << ": parsed, then the image is missing";
    }
}

// Item 6: an invalid reference is refused before anything is stored or audited, on every route.
TEST_F(HostileServer, InvalidReferencesAreRefusedBeforeAnything) {
    fp::ServerConfig config;
    config.workers = 1;
    RunningServer server(config);
    const std::string key = server.key("acme", fp::ApiRole::operator_role);
    std::string face, again, other;
    faces(face, again, other);
    auto c = server.client();
    for (const std::string bad : {std::string("cust-\xff\xfe"), std::string("a/b"), std::string(" x")}) {
        auto r = c.Post("/v1/subjects", auth(key),
                        images("image", {face}, {{"subject", bad}, {"consent", kConsent}, {"profile", "document"}}));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400) << r->body;
        EXPECT_TRUE(json::parse(r->body, nullptr, false).is_object()) << "the error is valid JSON";
    }
    for (const std::string path : {"/v1/subjects/%FF%FE", "/v1/subjects/%E2%80%AEx"}) {
        auto r = c.Get(path, auth(key));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400) << path << " " << r->body;
        r = c.Delete(path, auth(key));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400) << path << " " << r->body;
    }
    auto store = fp::Store::open(server.db());
    EXPECT_TRUE(store->list("acme", 10, 0).empty());
    for (const auto& row : store->audit(std::nullopt, 0, 100)) EXPECT_NE(row.action, "enrol") << row.details_json;
}

// Item 4: a different person's face added to a subject is 409 face_mismatch (audited); an admin
// key may override after review; an operator key may not.
TEST_F(HostileServer, GraftingAnotherFaceIs409) {
    fp::ServerConfig config;
    config.workers = 1;
    RunningServer server(config);
    const std::string op = server.key("acme", fp::ApiRole::operator_role);
    const std::string admin = server.key("acme", fp::ApiRole::admin);
    std::string face, again, other;
    faces(face, again, other);
    auto c = server.client();
    ASSERT_EQ(enrol(server, op, "victim", face), 201);
    auto r = c.Post("/v1/subjects/victim/templates", auth(op), images("image", {other}, {{"profile", "document"}}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 409) << r->body;
    EXPECT_EQ(error_code(r), "face_mismatch");
    // The attacker's face does not find the victim.
    r = c.Post("/v1/search", auth(op), images("image", {other}));
    ASSERT_TRUE(r);
    EXPECT_FALSE(json::parse(r->body)["found"]) << r->body;
    r = c.Post("/v1/subjects/victim/templates", auth(op),
               images("image", {other}, {{"profile", "document"}, {"allow_face_mismatch", "true"}}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << r->body;
    r = c.Post("/v1/subjects/victim/templates", auth(op), images("image", {again}, {{"profile", "document"}}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201) << "the subject's own face is added: " << r->body;
    r = c.Post("/v1/subjects/victim/templates", auth(admin),
               images("image", {other}, {{"profile", "document"}, {"allow_face_mismatch", "true"}}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201) << r->body;
}

// Item 7: after DELETE over HTTP (image retention on), no 32-byte slice of the sealed template or
// image is left in the database, its write-ahead log or its shared-memory file.
TEST_F(HostileServer, DeletionOverHttpLeavesNoByteInTheFiles) {
    fp::ServerConfig config;
    config.workers = 1;
    config.retain_images = true;
    RunningServer server(config);
    const std::string key = server.key("acme", fp::ApiRole::operator_role);
    std::string face, again, other;
    faces(face, again, other);
    auto c = server.client();
    ASSERT_EQ(enrol(server, key, "forget-me", face), 201);
    ASSERT_EQ(enrol(server, key, "keep-me", other), 201);
    const auto stored = fp::Store::open(server.db())->find("acme", "forget-me");
    ASSERT_TRUE(stored);
    ASSERT_FALSE(stored->templates.at(0).sealed_image.empty());
    const auto sealed = stored->templates[0].sealed, sealed_image = stored->templates[0].sealed_image;
    const std::string path = server.db().substr(7);
    const std::vector<fptest::fs::path> files{path, path + "-wal", path + "-shm"};
    ASSERT_FALSE(fptest::windows_found(files, sealed).empty()) << "positive control";
    auto del = c.Delete("/v1/subjects/forget-me", auth(key));
    ASSERT_TRUE(del);
    ASSERT_EQ(del->status, 200);
    EXPECT_TRUE(fptest::windows_found(files, sealed).empty()) << "template bytes left after DELETE";
    EXPECT_TRUE(fptest::windows_found(files, sealed_image).empty()) << "image bytes left after DELETE";
    EXPECT_TRUE(fp::Store::open(server.db())->find("acme", "keep-me"));
}

// Item 10: failed liveness checks lock the API key out (in the store: a second node sees it too),
// for /v1/liveness as for verify, whether or not a subject is named.
TEST_F(HostileServer, FailedLivenessChecksLockOutTheKeyOnEveryNode) {
    fp::ServerConfig config;
    config.workers = 1;
    config.key_lockout_failures = 3;
    RunningServer server(config);
    const std::string key = server.key("acme", fp::ApiRole::operator_role);
    const std::string other_key = server.key("acme", fp::ApiRole::operator_role);
    std::string face, again, other;
    faces(face, again, other);  // crops of a photograph: a presentation attack for the passive model
    auto c = server.client();
    for (int i = 0; i < 3; ++i) {
        auto r = c.Post("/v1/liveness", auth(key), images("image", {face}));
        ASSERT_TRUE(r);
        ASSERT_EQ(r->status, 200) << r->body;
        ASSERT_FALSE(json::parse(r->body)["live"]) << "the photo crop should not pass as live: " << r->body;
    }
    auto r = c.Post("/v1/liveness", auth(key), images("image", {face}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 429) << r->body;
    EXPECT_FALSE(r->get_header_value("Retry-After").empty());
    httplib::MultipartFormDataItems verify = images("probe", {face});
    verify.push_back({"reference", again, "reference.jpg", "image/jpeg"});
    r = c.Post("/v1/verify", auth(key), verify);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 429) << "verify is locked for the key too: " << r->body;
    // Another node on the same store sees the lockout; another key is not locked.
    fp::ServerConfig second = config;
    second.db = server.db();
    RunningServer node_b(second);
    r = node_b.client().Post("/v1/liveness", auth(key), images("image", {face}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 429) << r->body;
    r = node_b.client().Post("/v1/liveness", auth(other_key), images("image", {face}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    // The decisions are audited.
    int audited = 0;
    for (const auto& row : fp::Store::open(server.db())->audit("acme", 0, 100)) audited += row.action == "liveness";
    EXPECT_EQ(audited, 4);
}

}  // namespace

namespace {

// PostgreSQL: an API deletion is compacted away (VACUUM FULL, WAL switch, checkpoint) once
// compaction_delay_s has passed; then no byte of the subject is in the server's data directory.
TEST_F(HostileServer, DeletionOverHttpOnPostgresIsCompactedAway) {
    const char* datadir = std::getenv("FACEPROOF_TEST_POSTGRES_DATADIR");
    if (!datadir || !std::getenv("FACEPROOF_TEST_POSTGRES_URL"))
        GTEST_SKIP() << "no PostgreSQL server: run under scripts/with_postgres.sh (as scripts/test.sh does)";
    const std::string schema = fptest::create_postgres_schema("httpdelete");
    fp::ServerConfig config;
    config.workers = 1;
    config.retain_images = true;
    config.compaction_delay_s = 0.5;
    config.db = fptest::postgres_schema_url(schema);
    {
        RunningServer server(config);
        const std::string key = server.key("acme", fp::ApiRole::operator_role);
        std::string face, again, other;
        faces(face, again, other);
        auto c = server.client();
        ASSERT_EQ(enrol(server, key, "forget-me", face), 201);
        const auto stored = fp::Store::open(config.db)->find("acme", "forget-me");
        ASSERT_TRUE(stored);
        const auto sealed = stored->templates.at(0).sealed, sealed_image = stored->templates.at(0).sealed_image;
        std::vector<fptest::fs::path> files;
        for (const auto& entry : fptest::fs::recursive_directory_iterator(datadir))
            if (entry.is_regular_file()) files.push_back(entry.path());
        ASSERT_FALSE(fptest::windows_found(files, sealed).empty()) << "positive control: the template is in the WAL";
        auto del = c.Delete("/v1/subjects/forget-me", auth(key));
        ASSERT_TRUE(del);
        ASSERT_EQ(del->status, 200);
        bool compacted = false;
        for (auto start = Clock::now(); !compacted && seconds_since(start) < 60;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            auto metrics = c.Get("/metrics");
            compacted = metrics && metrics->body.find("faceproof_compactions_total 0\n") == std::string::npos;
        }
        ASSERT_TRUE(compacted) << "no compaction within 60 s of the deletion";
        files.clear();
        for (const auto& entry : fptest::fs::recursive_directory_iterator(datadir))
            if (entry.is_regular_file()) files.push_back(entry.path());
        EXPECT_TRUE(fptest::windows_found(files, sealed).empty()) << "template bytes left after the compaction";
        EXPECT_TRUE(fptest::windows_found(files, sealed_image).empty()) << "image bytes left after the compaction";
    }
    fptest::drop_postgres_schema(schema);
}

}  // namespace
