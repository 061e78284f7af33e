// The duplicate-identity check and the audit under races and crashes: one face enrolled under
// several references at once (threads, processes, nodes) is stored once; a process killed while
// enrolling never leaves a subject without its audit entry; a face added to a subject must be
// that subject's (no grafting); references are validated before anything is stored.
//
// Registry-level cases use synthetic unit-norm templates (no models needed); the process and node
// cases use real faces through the real CLI and `faceproof serve`.
#include <gtest/gtest.h>

#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <cmath>
#include <future>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "faceproof/api_keys.hpp"
#include "faceproof/audit_trail.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/registry.hpp"
#include "test_server_support.hpp"
#include "test_support.hpp"

extern char** environ;
namespace fp = faceproof;
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kModel = fp::Calibration::shipped().model_id();
const std::string kConsent = R"({"purpose":"identity-proofing","legal_basis":"consent","notice_version":"v1",)"
                             R"("given_at":"2026-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"})";

fp::Consent consent() { return {"identity-proofing", "consent", "v1", "2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z"}; }

// A random unit vector: two of them are about orthogonal (similarity ~0 +- 0.05 at 512-D).
std::vector<float> random_unit(std::mt19937& rng) {
    std::normal_distribution<float> normal;
    std::vector<float> v(512);
    double norm = 0;
    for (auto& x : v) {
        x = normal(rng);
        norm += double(x) * x;
    }
    for (auto& x : v) x = static_cast<float>(x / std::sqrt(norm));
    return v;
}
// The same face captured again: v plus noise, renormalised (similarity ~0.9).
std::vector<float> nearby(const std::vector<float>& v, std::mt19937& rng) {
    std::normal_distribution<float> normal(0, 0.02f);
    std::vector<float> out(v);
    double norm = 0;
    for (auto& x : out) {
        x += normal(rng);
        norm += double(x) * x;
    }
    for (auto& x : out) x = static_cast<float>(x / std::sqrt(norm));
    return out;
}
fp::Capture capture_of(const std::vector<float>& v) {
    fp::Capture c;
    c.face_template = fp::Template{kModel, std::string(64, 'a'), v};
    c.quality.pass = true;
    c.faces = 1;
    return c;
}

std::unique_ptr<fp::Registry> open_registry(const std::string& url, const fs::path& key) {
    std::vector<fp::DataKey> keys;
    keys.push_back(fp::DataKey::from_file(key));
    return fp::Registry::open(fp::Store::open(url), std::move(keys), fp::Calibration::shipped());
}

// Every stored subject has its "enrolled" audit entry, and the chain verifies.
void expect_every_subject_audited(const std::string& url, const std::string& tenant, std::size_t* subjects = nullptr) {
    auto store = fp::Store::open(url);
    const auto refs = store->list(tenant, 1'000'000, 0);
    std::set<std::string> audited;
    for (std::int64_t after = 0;;) {
        const auto rows = store->audit(tenant, after, 1000);
        if (rows.empty()) break;
        for (const auto& r : rows)
            if (r.action == "enrol" && r.outcome == "enrolled") audited.insert(r.subject);
        after = rows.back().sequence;
    }
    for (const auto& ref : refs) EXPECT_TRUE(audited.count(ref)) << ref << " is stored without an enrol audit entry";
    fp::AuditTrail trail(*store);
    EXPECT_TRUE(trail.verify().ok) << "the audit chain does not verify";
    if (subjects) *subjects = refs.size();
}

// --- references ---------------------------------------------------------------------------------

TEST(References, OneRuleForEveryEntryPoint) {
    for (const std::string ok : std::vector<std::string>{"CUST-1001", "a", "Ünal Çelik 42", "申请-2026-07", "x.y_z:1@2#3", std::string(128, 'r')})
        EXPECT_NO_THROW(fp::check_reference(ok)) << ok;
    const std::string bad_utf8 = "cust-\xff\xfe";
    const std::string overlong = "\xc0\xaf";      // '/' spelt in two bytes
    const std::string surrogate = "\xed\xa0\x80";  // U+D800
    for (const std::string bad : {std::string(), std::string(129, 'r'), std::string("a/b"), std::string("a\\b"),
                                  std::string("tab\there"), std::string("nul\0x", 5), std::string(" lead"),
                                  std::string("trail "), std::string("rtl\u202Eoverride"), std::string("zero\u200Bwidth"),
                                  std::string("del\x7f"), std::string("c1\u0085"), bad_utf8, overlong, surrogate})
        fptest::expect_error_code(fp::ErrorCode::invalid_argument, [&] { fp::check_reference(bad); });
    // Length is counted in characters, not bytes: 128 three-byte characters pass.
    std::string wide;
    for (int i = 0; i < 128; ++i) wide += "\u7533";
    EXPECT_NO_THROW(fp::check_reference(wide));
}

class RegistryRaces : public testing::Test {
protected:
    void SetUp() override { fp::DataKey::generate_file(dir_ / "key"); }
    std::string url() const { return "sqlite:" + (dir_ / "races.db").string(); }
    fptest::TempDir dir_{"faceproof-races"};
};

TEST_F(RegistryRaces, InvalidReferencesStoreAndAuditNothing) {
    auto registry = open_registry(url(), dir_ / "key");
    std::mt19937 rng(7);
    for (const std::string bad : {std::string("cust-\xff"), std::string("a/b"), std::string(200, 'x')}) {
        fptest::expect_error_code(fp::ErrorCode::invalid_argument,
                                  [&] { registry->enrol("test", "acme", bad, consent(), {capture_of(random_unit(rng))}); });
        fptest::expect_error_code(fp::ErrorCode::invalid_argument, [&] { (void)registry->subject("acme", bad); });
        fptest::expect_error_code(fp::ErrorCode::invalid_argument, [&] { registry->remove("test", "acme", bad); });
    }
    auto store = fp::Store::open(url());
    EXPECT_TRUE(store->list("acme", 10, 0).empty());
    EXPECT_TRUE(store->audit(std::nullopt, 0, 10).empty());
}

// Eight threads enrol one face under eight references: the check and the insert are one step.
TEST_F(RegistryRaces, ThreadsEnrollingOneFaceStoreItOnce) {
    auto registry = open_registry(url(), dir_ / "key");
    std::mt19937 rng(11);
    const auto face = random_unit(rng);
    std::vector<std::vector<float>> captures;
    for (int i = 0; i < 8; ++i) captures.push_back(nearby(face, rng));
    std::vector<std::future<fp::EnrolmentResult>> results;
    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    for (int i = 0; i < 8; ++i)
        results.push_back(std::async(std::launch::async, [&, i] {
            start.wait();
            return registry->enrol("test", "acme", "ref-" + std::to_string(i), consent(), {capture_of(captures[i])});
        }));
    go.set_value();
    int enrolled = 0, duplicates = 0;
    for (auto& r : results) {
        const auto result = r.get();
        enrolled += result.enrolled;
        duplicates += std::count(result.reasons.begin(), result.reasons.end(), "DUPLICATE_IDENTITY") > 0;
    }
    EXPECT_EQ(enrolled, 1);
    EXPECT_EQ(duplicates, 7);
    EXPECT_EQ(fp::Store::open(url())->list("acme", 100, 0).size(), 1u);
    expect_every_subject_audited(url(), "acme");
}

// Two registries (two processes' worth of state, two connections) on one database: the second
// registry's index is stale, yet its duplicate check sees the first one's enrolment, because the
// index catches up with the change feed under the tenant's lock before checking.
TEST_F(RegistryRaces, AStaleIndexStillSeesWhatAnotherRegistryEnrolled) {
    auto a = open_registry(url(), dir_ / "key");
    auto b = open_registry(url(), dir_ / "key");
    std::mt19937 rng(13);
    const auto face = random_unit(rng);
    // b loads acme's (empty) index now, so it is stale after a's enrolment.
    fp::SearchResult before = b->search("test", "acme", capture_of(face));
    EXPECT_EQ(before.gallery_templates, 0u);
    ASSERT_TRUE(a->enrol("test", "acme", "first", consent(), {capture_of(nearby(face, rng))}).enrolled);
    const auto second = b->enrol("test", "acme", "second", consent(), {capture_of(nearby(face, rng))});
    EXPECT_FALSE(second.enrolled);
    ASSERT_EQ(second.duplicates.size(), 1u);
    EXPECT_EQ(second.duplicates[0].subject, "first");
}

// Grafting: a different person's face added to a subject is refused and audited; the subject's
// own face is added; an explicit override (an administrator's decision) adds it, audited as such.
TEST_F(RegistryRaces, AddingAnotherPersonsFaceIsRefused) {
    auto registry = open_registry(url(), dir_ / "key");
    std::mt19937 rng(17);
    const auto victim = random_unit(rng), attacker = random_unit(rng);
    ASSERT_TRUE(registry->enrol("test", "acme", "victim", consent(), {capture_of(victim)}).enrolled);
    const auto grafted = registry->add_templates("test", "acme", "victim", {capture_of(attacker)});
    EXPECT_FALSE(grafted.enrolled);
    EXPECT_EQ(grafted.reasons, std::vector<std::string>{"FACE_MISMATCH image 1"});
    EXPECT_EQ(registry->subject("acme", "victim")->templates.size(), 1u);
    // The attacker's face still finds nobody.
    EXPECT_FALSE(registry->search("test", "acme", capture_of(attacker)).found());
    const auto own = registry->add_templates("test", "acme", "victim", {capture_of(nearby(victim, rng))});
    EXPECT_TRUE(own.enrolled);
    fp::EnrolmentPolicy override;
    override.require_same_face = false;
    EXPECT_TRUE(registry->add_templates("admin", "acme", "victim", {capture_of(attacker)}, override).enrolled);
    auto store = fp::Store::open(url());
    bool refused = false, overridden = false;
    for (const auto& row : store->audit("acme", 0, 100)) {
        if (row.action != "add_templates") continue;
        if (row.outcome == "refused" && row.details_json.find("FACE_MISMATCH") != std::string::npos) refused = true;
        if (row.outcome == "enrolled" && row.details_json.find("face_match_overridden") != std::string::npos)
            overridden = true;
    }
    EXPECT_TRUE(refused);
    EXPECT_TRUE(overridden);
}

// A template made by another model file (same model id, other weights) is never compared with the
// gallery's: neither as a search probe nor as a new enrolment.
TEST_F(RegistryRaces, TemplatesOfAnotherModelFileAreRefused) {
    auto registry = open_registry(url(), dir_ / "key");
    std::mt19937 rng(29);
    const auto face = random_unit(rng);
    ASSERT_TRUE(registry->enrol("test", "acme", "someone", consent(), {capture_of(face)}).enrolled);
    fp::Capture other_file = capture_of(nearby(face, rng));
    other_file.face_template->model_sha256 = std::string(64, 'b');
    fptest::expect_error_code(fp::ErrorCode::template_mismatch, [&] { registry->search("test", "acme", other_file); });
    fptest::expect_error_code(fp::ErrorCode::template_mismatch,
                              [&] { registry->enrol("test", "acme", "other", consent(), {other_file}); });
    // The same file written in upper-case hex is the same file.
    fp::Capture upper = capture_of(nearby(face, rng));
    upper.face_template->model_sha256 = std::string(64, 'A');
    EXPECT_TRUE(registry->search("test", "acme", upper).found());
}

// A process killed (SIGKILL) at random moments while enrolling: every subject it managed to store
// has its audit entry, because both commit in one transaction; the chain verifies.
void killed_enroller_leaves_no_unaudited_subject(const std::string& url, const fs::path& key) {
    open_registry(url, key).reset();  // migrations before the children race
    std::mt19937 rng(19);
    std::size_t subjects = 0;
    for (int round = 0; round < 6; ++round) {
        const pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            try {
                auto registry = open_registry(url, key);
                std::mt19937 local(static_cast<unsigned>(getpid()));
                for (int i = 0;; ++i)
                    registry->enrol("child", "acme", "r" + std::to_string(round) + "-" + std::to_string(i), consent(),
                                    {capture_of(random_unit(local))});
            } catch (...) {
                _exit(3);
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 250));
        kill(child, SIGKILL);
        int status = 0;
        waitpid(child, &status, 0);
        EXPECT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself (status " << status << ")";
    }
    expect_every_subject_audited(url, "acme", &subjects);
    EXPECT_GT(subjects, 0u) << "the children stored nothing before being killed";
    std::cout << "[ killed enrollers ] " << subjects << " subjects stored, each audited\n";
}

TEST_F(RegistryRaces, KilledEnrollerLeavesNoUnauditedSubjectSqlite) {
    killed_enroller_leaves_no_unaudited_subject(url(), dir_ / "key");
}

TEST_F(RegistryRaces, KilledEnrollerLeavesNoUnauditedSubjectPostgres) {
    const char* base = std::getenv("FACEPROOF_TEST_POSTGRES_URL");
    if (!base) GTEST_SKIP() << "no PostgreSQL server: run under scripts/with_postgres.sh (as scripts/test.sh does)";
    const std::string schema = fptest::create_postgres_schema("killed");
    killed_enroller_leaves_no_unaudited_subject(fptest::postgres_schema_url(schema), dir_ / "key");
    fptest::drop_postgres_schema(schema);
}

// --- processes and nodes with real faces ----------------------------------------------------------

// Two crops of one real face (the second degraded), JPEG-encoded.
std::pair<std::string, std::string> one_face() {
    const auto& [photo, faces, templates] = fptest::group_photo();
    const cv::Mat crop = fptest::crop(photo, fptest::grow_box(faces.at(0).box, 0.6, photo.size()));
    std::vector<std::uint8_t> a, b;
    cv::imencode(".jpg", crop, a);
    cv::imencode(".jpg", fptest::degraded_copy(crop), b);
    return {std::string(a.begin(), a.end()), std::string(b.begin(), b.end())};
}

// Six `faceproof enroll` processes, one face, six references, one SQLite store; three rounds.
TEST(DuplicateCheckRaces, ProcessesEnrollingOneFaceOnOneSqliteStoreStoreItOnce) {
    if (const auto problem = fptest::engine_prerequisites_problem(); !problem.empty()) FAIL() << problem;
    fptest::TempDir dir("faceproof-process-races");
    // Named, not a structured binding: clang 14 (the sanitizer build) cannot capture bindings.
    const auto faces = one_face();
    const std::string& face = faces.first;
    const std::string& second = faces.second;
    fptest::write_text(dir / "face.jpg", face);
    fptest::write_text(dir / "consent.json", kConsent);
    fp::DataKey::generate_file(dir / "key");
    for (int round = 0; round < 3; ++round) {
        const std::string db = "sqlite:" + (dir / ("round" + std::to_string(round) + ".db")).string();
        fp::Store::open(db).reset();
        std::vector<pid_t> children;
        for (int i = 0; i < 6; ++i)
            children.push_back(fptest::spawn_process({FACEPROOF_CLI_PATH, "enroll", "--db", db, "--key-file", (dir / "key").string(),
                                      "--tenant", "acme", "--subject", "ref-" + std::to_string(i), "--consent",
                                      (dir / "consent.json").string(), "--profile", "document", "--json",
                                      (dir / "face.jpg").string()},
                                     dir / ("out" + std::to_string(i)), dir / ("out" + std::to_string(i) + ".err")));
        int enrolled = 0, refused = 0;
        for (int i = 0; i < 6; ++i) {
            int status = 0;
            waitpid(children[i], &status, 0);
            const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            const std::string out = fptest::read_text(dir / ("out" + std::to_string(i)));
            if (code == 0) ++enrolled;
            if (code == 2 && out.find("DUPLICATE_IDENTITY") != std::string::npos) ++refused;
            EXPECT_TRUE(code == 0 || code == 2) << "round " << round << " process " << i << " exit " << code << "\n"
                                                << out << fptest::read_text(dir / ("out" + std::to_string(i) + ".err"));
        }
        EXPECT_EQ(enrolled, 1) << "round " << round;
        EXPECT_EQ(refused, 5) << "round " << round;
        EXPECT_EQ(fp::Store::open(db)->list("acme", 100, 0).size(), 1u) << "round " << round;
        expect_every_subject_audited(db, "acme");
    }
}

using Node = fptest::ServeProcess;

// Two nodes on one PostgreSQL database, the same face enrolled through both at once: one 201.
TEST(DuplicateCheckRaces, TwoNodesEnrollingOneFaceStoreItOnce) {
    if (!std::getenv("FACEPROOF_TEST_POSTGRES_URL"))
        GTEST_SKIP() << "no PostgreSQL server: run under scripts/with_postgres.sh (as scripts/test.sh does)";
    if (const auto problem = fptest::engine_prerequisites_problem(); !problem.empty()) FAIL() << problem;
    fptest::TempDir dir("faceproof-node-races");
    const std::string schema = fptest::create_postgres_schema("noderace");
    const std::string url = fptest::postgres_schema_url(schema);
    fp::DataKey::generate_file(dir / "key");
    std::string key;
    {
        auto store = fp::Store::open(url);
        key = fp::create_api_key(*store, "acme", fp::ApiRole::operator_role).key;
    }
    // Named, not a structured binding: clang 14 (the sanitizer build) cannot capture bindings.
    const auto faces = one_face();
    const std::string& face = faces.first;
    const std::string& second = faces.second;
    Node a(url, dir / "key", dir / "a.log"), b(url, dir / "key", dir / "b.log");
    ASSERT_TRUE(a.up()) << a.log();
    ASSERT_TRUE(b.up()) << b.log();
    const httplib::Headers auth{{"Authorization", "Bearer " + key}};
    auto enrol = [&](const Node& n, const std::string& subject, const std::string& image) {
        httplib::MultipartFormDataItems f{{"image", image, "a.jpg", "image/jpeg"}, {"subject", subject, "", ""},
                                          {"consent", kConsent, "", ""}, {"profile", "document", "", ""}};
        auto r = n.client().Post("/v1/subjects", auth, f);
        return r ? r->status : 0;
    };
    for (int round = 0; round < 3; ++round) {
        const std::string r = std::to_string(round);
        auto on_a = std::async(std::launch::async, [&] { return enrol(a, "a-" + r, face); });
        auto on_b = std::async(std::launch::async, [&] { return enrol(b, "b-" + r, second); });
        const int sa = on_a.get(), sb = on_b.get();
        EXPECT_EQ((sa == 201) + (sb == 201), 1) << "round " << round << ": node A " << sa << ", node B " << sb;
        EXPECT_EQ(fp::Store::open(url)->list("acme", 100, 0).size(), 1u) << "round " << round;
        // Start the next round from an empty tenant.
        for (const auto& ref : fp::Store::open(url)->list("acme", 100, 0))
            EXPECT_EQ(a.client().Delete("/v1/subjects/" + ref, auth)->status, 200);
    }
    expect_every_subject_audited(url, "acme");
    fptest::drop_postgres_schema(schema);
}

}  // namespace
