// `faceproof enroll | search | subjects | purge | audit | keys rotate` end to end: exit codes, JSON
// shapes, refusals and the audit chain, through the real binary and a real SQLite file.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "faceproof/crypto.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/quality.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using nlohmann::json;

namespace {

class CliRegistryTest : public fptest::ModelTest<CliRegistryTest> {
public:
    // Single-face images of two different people that pass the selfie quality profile, and a
    // second capture of the first person.
    static void set_up_suite() {
        fp::Engine* engine = &fptest::shared_engine();
        auto quality = fp::QualityAssessor::create();
        std::vector<fp::Template> kept;
        for (int n = 1; n <= 6 && faces_.size() < 2; ++n) {
            const cv::Mat photo = fptest::load_sample(n);
            for (const auto& face : engine->detect(photo)) {
                const cv::Mat crop = fptest::crop(photo, fptest::grow_box(face.box, 0.6, photo.size()));
                const auto faces = engine->detect(crop);
                if (faces.size() != 1 || !quality->assess(engine->context(crop, faces), fp::QualityProfile::selfie).pass) continue;
                const fp::Template t = engine->analyze(crop).face_template();
                if (!kept.empty() && fp::similarity(kept[0], t) > 0.3) continue;
                kept.push_back(t);
                faces_.push_back(crop);
                if (faces_.size() == 2) break;
            }
        }
    }

protected:
    void SetUp() override {
        ModelTest::SetUp();
        if (HasFatalFailure()) return;
        ASSERT_EQ(faces_.size(), 2u) << "expected two single-face crops passing the selfie profile";
        fptest::save_image(dir_ / "alice.jpg", faces_[0]);
        fptest::save_image(dir_ / "alice-again.jpg", fptest::jpeg_round_trip(faces_[0], 70));
        fptest::save_image(dir_ / "bob.jpg", faces_[1]);
        fptest::save_image(dir_ / "blank.jpg", fptest::gradient_image(320, 240));
        fptest::write_text(dir_ / "consent.json",
                           R"({"purpose":"identity-proofing","legal_basis":"consent","notice_version":"v1",)"
                           R"("given_at":"2026-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"})");
        fptest::write_text(dir_ / "short-consent.json",
                           R"({"purpose":"identity-proofing","legal_basis":"consent","notice_version":"v1",)"
                           R"("given_at":"2026-01-01T00:00:00Z","expires_at":"2040-01-01T00:00:00Z"})");
        fptest::write_text(dir_ / "bad-consent.json", R"({"purpose":"identity-proofing"})");
        fp::DataKey::generate_file(dir_ / "key");
        fp::DataKey::generate_file(dir_ / "key2");
    }
    // Runs the CLI on this test's database and key.
    fptest::CliResult cli(std::vector<std::string> args, const std::string& key = "key") {
        args.push_back("--db=sqlite:" + (dir_ / "store.db").string());
        if (!key.empty()) args.push_back("--key-file=" + (dir_ / key).string());
        return fptest::run_cli(args);
    }
    json cli_json(std::vector<std::string> args, int expected_exit, const std::string& key = "key") {
        args.push_back("--json");
        const auto r = cli(args, key);
        EXPECT_EQ(r.exit_code, expected_exit) << fptest::describe(r);
        const json j = json::parse(r.out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << fptest::describe(r);
        return j;
    }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    static inline std::vector<cv::Mat> faces_;
    fptest::TempDir dir_{"faceproof-cli-registry"};
};

TEST_F(CliRegistryTest, EnrollSearchShowDelete) {
    json e = cli_json({"enroll", "--subject", "cust-1", "--consent", path("consent.json"), path("alice.jpg")}, 0);
    EXPECT_TRUE(e["enrolled"]);
    EXPECT_EQ(e["template_ids"].size(), 1u);
    EXPECT_EQ(e["quality"][0]["pass"], true);
    cli_json({"enroll", "--subject", "cust-2", "--consent", path("consent.json"), path("bob.jpg")}, 0);

    json s = cli_json({"search", path("alice-again.jpg"), "--top", "3"}, 0);
    ASSERT_FALSE(s["candidates"].empty());
    EXPECT_EQ(s["candidates"][0]["subject"], "cust-1");
    EXPECT_EQ(s["candidates"][0]["match"], true);
    EXPECT_GT(s["candidates"][0]["similarity"].get<double>(), s["threshold"].get<double>());
    for (std::size_t i = 1; i < s["candidates"].size(); ++i) EXPECT_EQ(s["candidates"][i]["match"], false);
    EXPECT_EQ(s["gallery"]["subjects"], 2);
    EXPECT_EQ(s["method"], "exact_compact");  // a small gallery: the int8 scan, re-scored exactly

    json list = cli_json({"subjects", "list"}, 0, "");
    EXPECT_EQ(list["subjects"], json::array({"cust-1", "cust-2"}));
    json show = cli_json({"subjects", "show", "cust-1"}, 0, "");
    EXPECT_EQ(show["consent"]["notice_version"], "v1");
    ASSERT_EQ(show["templates"].size(), 1u);
    EXPECT_EQ(show["templates"][0]["image_retained"], false);
    EXPECT_EQ(show.dump().find("sealed"), std::string::npos);

    // Deleting needs no key; afterwards the face is found nowhere.
    cli_json({"subjects", "delete", "cust-1"}, 0, "");
    cli_json({"subjects", "show", "cust-1"}, 1, "");
    cli_json({"subjects", "delete", "cust-1"}, 1, "");
    json after = cli_json({"search", path("alice-again.jpg")}, 1);
    EXPECT_EQ(after["found"], false);
    for (const auto& c : after["candidates"]) EXPECT_NE(c["subject"], "cust-1");

    // Another tenant is another gallery.
    json other = cli_json({"search", path("bob.jpg"), "--tenant", "beta"}, 1);
    EXPECT_EQ(other["gallery"]["subjects"], 0);
}

TEST_F(CliRegistryTest, RefusalsAndUsageErrors) {
    json blank = cli_json({"enroll", "--subject", "x", "--consent", path("consent.json"), path("blank.jpg")}, 2);
    EXPECT_EQ(blank["enrolled"], false);
    EXPECT_EQ(blank["reasons"], json::array({"NO_FACE image 1"}));
    json bad = cli_json({"enroll", "--subject", "x", "--consent", path("bad-consent.json"), path("alice.jpg")}, 2);
    EXPECT_EQ(bad["error"]["code"], "consent_invalid");
    cli_json({"enroll", "--subject", "cust-1", "--consent", path("consent.json"), path("alice.jpg")}, 0);
    json dup = cli_json({"enroll", "--subject", "other", "--consent", path("consent.json"), path("alice-again.jpg")}, 2);
    EXPECT_EQ(dup["reasons"], json::array({"DUPLICATE_IDENTITY"}));
    EXPECT_EQ(dup["duplicates"][0]["subject"], "cust-1");
    json again = cli_json({"enroll", "--subject", "cust-1", "--consent", path("consent.json"), path("bob.jpg")}, 2);
    EXPECT_EQ(again["error"]["code"], "conflict");
    json added = cli_json({"enroll", "--add", "--subject", "cust-1", path("alice-again.jpg")}, 0);
    EXPECT_EQ(added["template_ids"].size(), 1u);
    // No key: enrolment says how to get one.
    const auto nokey = cli({"enroll", "--subject", "y", "--consent", path("consent.json"), path("bob.jpg")}, "");
    EXPECT_EQ(nokey.exit_code, 2) << fptest::describe(nokey);
    EXPECT_NE(nokey.err.find("keys generate"), std::string::npos) << nokey.err;
    // Usage errors.
    EXPECT_EQ(cli({"enroll", "--subject", "z", path("bob.jpg")}).exit_code, 64);  // neither --consent nor --add
    EXPECT_EQ(cli({"search"}).exit_code, 64);
    EXPECT_EQ(cli({"search", path("bob.jpg"), "--tenant", "a/b"}).exit_code, 64);
    const auto missing = cli({"search", path("nope.jpg")});
    EXPECT_EQ(missing.exit_code, 2) << fptest::describe(missing);
    // A wrong key is a clear error, not garbage matches.
    const auto wrong = cli({"search", path("alice.jpg")}, "key2");
    EXPECT_EQ(wrong.exit_code, 2);
    EXPECT_NE(wrong.err.find("key_invalid"), std::string::npos) << wrong.err;
}

TEST_F(CliRegistryTest, PurgeRotateAndAuditChain) {
    cli_json({"enroll", "--subject", "short", "--consent", path("short-consent.json"), path("alice.jpg")}, 0);
    cli_json({"enroll", "--subject", "long", "--consent", path("consent.json"), path("bob.jpg"), "--retain-images"}, 0);
    json purged = cli_json({"purge", "--now", "2041-01-01T00:00:00Z"}, 0, "");
    EXPECT_EQ(purged["purged"], json::array({"default/short"}));

    json rotated = cli_json({"keys", "rotate", "--new-key-file", path("key2")}, 0);
    EXPECT_EQ(rotated["new_key_id"], fp::DataKey::from_file(dir_ / "key2").id());
    cli_json({"search", path("bob.jpg")}, 0, "key2");
    EXPECT_EQ(cli({"search", path("bob.jpg")}, "key").exit_code, 2);  // the old key no longer opens anything

    // A verify decision is audited in the same trail.
    const auto v = cli({"verify", path("bob.jpg"), path("bob.jpg"), "--no-require-liveness"}, "");
    EXPECT_EQ(v.exit_code, 0) << fptest::describe(v);

    json list = cli_json({"audit", "list", "--all-tenants"}, 0, "");
    std::vector<std::string> actions;
    for (const auto& e : list["entries"]) actions.push_back(e["action"].get<std::string>() + ":" + e["outcome"].get<std::string>());
    EXPECT_EQ(actions, (std::vector<std::string>{"enrol:enrolled", "enrol:enrolled", "purge:deleted", "purge:done",
                                                 "rotate_key:done", "search:found", "verify:match"}))
        << list.dump(1);
    json ok = cli_json({"audit", "verify"}, 0, "");
    EXPECT_EQ(ok["ok"], true);

    // Tamper with one entry behind the tool's back: verify finds it (exit 1, the entry named).
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "store.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    // The audit table refuses UPDATE through its trigger; an attacker with file access drops it.
    ASSERT_EQ(sqlite3_exec(db,
                           "DROP TRIGGER audit_no_update; UPDATE audit SET outcome = 'not_found' WHERE sequence = 6;",
                           nullptr, nullptr, &err),
              SQLITE_OK)
        << (err ? err : "");
    sqlite3_close(db);
    json broken = cli_json({"audit", "verify"}, 1, "");
    EXPECT_EQ(broken["ok"], false);
    EXPECT_EQ(broken["first_bad_sequence"], 6);
}

}  // namespace
