// Sealed index snapshots in the registry: a node loads a tenant from its snapshot and replays the
// change feed (same answers as a rebuild from the store); a snapshot that does not open with the
// current key, is another tenant's, is damaged, is ahead of or beyond the feed, or does not match
// the store is discarded and rebuilt; deletion (here, or by another node) rewrites it without the
// deleted templates; key rotation re-seals it. Synthetic templates: no models needed.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "faceproof/calibration.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/registry.hpp"
#include "gallery/index_snapshot.hpp"
#include "gallery/int8_codes.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
namespace gal = faceproof::gallery;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kDimension = 512;

fp::Consent consent() { return {"identity-proofing", "consent", "notice-v2", "2024-01-01T00:00:00Z", "2099-01-01T00:00:00Z"}; }

std::vector<float> random_unit(std::mt19937_64& rng) {
    std::normal_distribution<double> normal;
    std::vector<double> v(kDimension);
    double norm = 0;
    for (double& x : v) {
        x = normal(rng);
        norm += x * x;
    }
    std::vector<float> out(kDimension);
    for (std::size_t i = 0; i < kDimension; ++i) out[i] = static_cast<float>(v[i] / std::sqrt(norm));
    return out;
}

std::vector<float> near(std::mt19937_64& rng, const std::vector<float>& base, double noise) {
    std::normal_distribution<double> normal(0.0, noise / std::sqrt(static_cast<double>(kDimension)));
    std::vector<double> v(kDimension);
    double norm = 0;
    for (std::size_t i = 0; i < kDimension; ++i) {
        v[i] = base[i] + normal(rng);
        norm += v[i] * v[i];
    }
    std::vector<float> out(kDimension);
    for (std::size_t i = 0; i < kDimension; ++i) out[i] = static_cast<float>(v[i] / std::sqrt(norm));
    return out;
}

fp::Capture capture_of(const std::vector<float>& values) {
    fp::Capture c;
    c.face_template = fp::Template{fp::Calibration::shipped().model_id(), std::string(64, 'a'), values};
    c.faces = 1;
    return c;
}

fp::EnrolmentPolicy lenient() {
    fp::EnrolmentPolicy p;
    p.require_quality = false;
    return p;
}

class RegistrySnapshot : public ::testing::Test {
protected:
    void SetUp() override {
        fp::DataKey::generate_file(dir_ / "key");
        fp::DataKey::generate_file(dir_ / "key2");
        fs::create_directory(snapshots_);
        std::mt19937_64 rng(77);
        for (int i = 0; i < 240; ++i) faces_.push_back(random_unit(rng));
    }

    fp::RegistryOptions options(bool snapshots, bool keep_floats = false) const {
        fp::RegistryOptions o;
        o.index.approximate_from = 100;  // a graph, so the snapshot holds one
        o.index.keep_full_precision = keep_floats;
        if (snapshots) o.snapshot_directory = snapshots_;
        o.snapshot_min_templates = 0;
        return o;
    }
    std::unique_ptr<fp::Registry> open(fp::RegistryOptions o, const std::vector<std::string>& keys = {"key"},
                                       const std::string& db = "registry.db") {
        std::vector<fp::DataKey> loaded;
        for (const auto& k : keys) loaded.push_back(fp::DataKey::from_file(dir_ / k));
        return fp::Registry::open(fp::Store::open("sqlite:" + (dir_ / db).string()), std::move(loaded),
                                  fp::Calibration::shipped(), o);
    }
    std::string reference(std::size_t i) const { return "person-" + std::to_string(i); }
    void enrol(fp::Registry& r, std::size_t i, const std::string& tenant = "acme") {
        const auto result = r.enrol("test", tenant, reference(i), consent(), {capture_of(faces_[i])}, lenient());
        ASSERT_TRUE(result.enrolled) << i;
    }
    fs::path snapshot_file(const std::string& tenant = "acme") const { return gal::snapshot_path(snapshots_, tenant); }
    fp::DataKey key(const std::string& name = "key") const { return fp::DataKey::from_file(dir_ / name); }

    // Searches near several enrolled faces: the same candidates and similarities from both.
    void expect_same_answers(fp::Registry& a, fp::Registry& b, const std::string& context) {
        std::mt19937_64 rng(5);
        for (std::size_t i = 0; i < faces_.size(); i += 9) {
            const auto probe = capture_of(near(rng, faces_[i], 0.6));
            const auto x = a.search("test", "acme", probe, {5, 1e-2});
            const auto y = b.search("test", "acme", probe, {5, 1e-2});
            ASSERT_EQ(x.candidates.size(), y.candidates.size()) << context << " probe " << i;
            EXPECT_EQ(x.gallery_templates, y.gallery_templates) << context;
            for (std::size_t c = 0; c < x.candidates.size(); ++c) {
                EXPECT_EQ(x.candidates[c].subject, y.candidates[c].subject) << context << " probe " << i;
                EXPECT_EQ(x.candidates[c].similarity, y.candidates[c].similarity) << context << " probe " << i;
            }
        }
    }

    // A snapshot written, then changes by another node (no snapshots there): 200 enrolled first.
    void snapshot_then_changes_elsewhere() {
        auto node = open(options(true));
        for (std::size_t i = 0; i < 200; ++i) enrol(*node, i);
        ASSERT_TRUE(node->save_snapshot("acme"));
        auto other = open(options(false));
        for (std::size_t i = 200; i < 220; ++i) enrol(*other, i);
    }

    fptest::TempDir dir_;
    fs::path snapshots_ = dir_ / "snapshots";
    std::vector<std::vector<float>> faces_;
};

}  // namespace

TEST_F(RegistrySnapshot, LoadedFromTheSnapshotAndTheFeedAnswersAsARebuild) {
    snapshot_then_changes_elsewhere();
    const auto before = fptest::read_bytes(snapshot_file());
    auto restarted = open(options(true));
    auto rebuilt = open(options(false));
    expect_same_answers(*restarted, *rebuilt, "restarted");
    // Used, not discarded: a discarded snapshot is rewritten (new random nonce, other bytes).
    EXPECT_EQ(fptest::read_bytes(snapshot_file()), before);
    const auto found = restarted->search("test", "acme", capture_of(faces_[210]), {1, 1e-2});
    ASSERT_TRUE(found.found());
    EXPECT_EQ(found.candidates.front().subject, reference(210)) << "enrolled after the snapshot: from the feed";
    EXPECT_EQ(found.method, "hnsw");
}

TEST_F(RegistrySnapshot, FloatsKeptToo) {
    auto node = open(options(true, true));
    for (std::size_t i = 0; i < 150; ++i) enrol(*node, i);
    ASSERT_TRUE(node->save_snapshot("acme"));
    const auto before = fptest::read_bytes(snapshot_file());
    auto restarted = open(options(true, true));
    auto rebuilt = open(options(false, true));
    expect_same_answers(*restarted, *rebuilt, "floats kept");
    EXPECT_EQ(fptest::read_bytes(snapshot_file()), before);
}

TEST_F(RegistrySnapshot, UnusableSnapshotsAreDiscardedAndRebuilt) {
    snapshot_then_changes_elsewhere();
    const auto good = fptest::read_bytes(snapshot_file());
    struct Case {
        std::string name;
        std::function<void()> spoil;
        std::vector<std::string> keys{"key"};
    };
    const std::vector<Case> cases{
        {"damaged", [&] {
             auto bytes = good;
             bytes[bytes.size() / 2] ^= 0x01;
             fptest::write_bytes(snapshot_file(), bytes);
         }},
        {"truncated", [&] {
             fptest::write_bytes(snapshot_file(), std::vector<std::uint8_t>(good.begin(), good.begin() + good.size() / 3));
         }},
        {"another key is current", [] {}, {"key2", "key"}},
        {"another tenant's", [&] {
             // beta's snapshot under acme's name: its associated data names beta.
             auto contents = gal::read_snapshot(snapshots_, "acme", key());
             contents->tenant = "beta";
             gal::write_snapshot(snapshots_, key(), *contents);
             fs::rename(snapshot_file("beta"), snapshot_file());
         }},
        {"references that are not the store's", [&] {
             auto contents = gal::read_snapshot(snapshots_, "acme", key());
             contents->owners.front().second = "someone-else";
             gal::write_snapshot(snapshots_, key(), *contents);
         }},
        {"ahead of the feed (another database)", [&] {
             auto contents = gal::read_snapshot(snapshots_, "acme", key());
             contents->change_sequence += 1000;
             gal::write_snapshot(snapshots_, key(), *contents);
         }},
    };
    for (const Case& c : cases) {
        fptest::write_bytes(snapshot_file(), good);  // each case spoils the good snapshot
        c.spoil();
        const auto spoiled = fptest::read_bytes(snapshot_file());
        auto restarted = open(options(true), c.keys);
        auto rebuilt = open(options(false), c.keys);
        expect_same_answers(*restarted, *rebuilt, c.name);
        // Discarded and written again from the rebuilt index, under the current key.
        ASSERT_TRUE(fs::exists(snapshot_file())) << c.name;
        EXPECT_NE(fptest::read_bytes(snapshot_file()), spoiled) << c.name;
        EXPECT_NO_THROW(gal::read_snapshot(snapshots_, "acme", key(c.keys.front()))) << c.name;
    }
}

TEST_F(RegistrySnapshot, AFeedPrunedBeyondTheSnapshotDiscardsIt) {
    snapshot_then_changes_elsewhere();
    const auto before = fptest::read_bytes(snapshot_file());
    const std::int64_t position = gal::read_snapshot(snapshots_, "acme", key())->change_sequence;
    // What the store's pruning does to old entries, done here past the snapshot's position.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "registry.db").c_str(), &db), SQLITE_OK);
    const std::string prune = "DELETE FROM subject_changes WHERE sequence <= " + std::to_string(position + 3);
    EXPECT_EQ(sqlite3_exec(db, prune.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    auto restarted = open(options(true));
    auto rebuilt = open(options(false));
    expect_same_answers(*restarted, *rebuilt, "pruned");
    EXPECT_NE(fptest::read_bytes(snapshot_file()), before);
}

namespace {

bool holds(const std::vector<std::uint8_t>& bytes, const void* data, std::size_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    return std::search(bytes.begin(), bytes.end(), p, p + size) != bytes.end();
}

}  // namespace

TEST_F(RegistrySnapshot, DeletionRewritesTheSnapshotWithoutTheDeleted) {
    for (const bool keep_floats : {false, true}) {
        fs::remove_all(snapshots_);
        fs::create_directory(snapshots_);
        fs::remove(dir_ / "deletion.db");
        auto node = open(options(true, keep_floats), {"key"}, "deletion.db");
        for (std::size_t i = 0; i < 150; ++i) enrol(*node, i);
        ASSERT_TRUE(node->save_snapshot("acme"));
        auto holds_subject = [&](std::size_t i) {
            const auto contents = gal::read_snapshot(snapshots_, "acme", key());
            std::vector<std::int8_t> codes(kDimension);
            gal::quantise(faces_[i].data(), kDimension, codes.data());
            const bool owner = std::any_of(contents->owners.begin(), contents->owners.end(),
                                           [&](const auto& o) { return o.second == reference(i); });
            return owner || holds(contents->index.bytes, codes.data(), kDimension) ||
                   holds(contents->index.bytes, faces_[i].data(), kDimension * sizeof(float));
        };
        ASSERT_TRUE(holds_subject(17)) << "the check must be able to fail";
        ASSERT_TRUE(holds_subject(18));
        ASSERT_TRUE(holds_subject(19));
        // Here.
        ASSERT_TRUE(node->remove("test", "acme", reference(17)));
        EXPECT_FALSE(holds_subject(17)) << "floats kept: " << keep_floats;
        // By another node: this one's snapshot follows when it reads the feed.
        auto other = open(options(false, keep_floats), {"key"}, "deletion.db");
        ASSERT_TRUE(other->remove("test", "acme", reference(18)));
        node->sync();
        EXPECT_FALSE(holds_subject(18)) << "floats kept: " << keep_floats;
        // By another node while this one has not loaded the tenant: its snapshot goes.
        auto idle = open(options(true, keep_floats), {"key"}, "deletion.db");
        ASSERT_TRUE(other->remove("test", "acme", reference(19)));
        idle->sync();
        EXPECT_TRUE(!fs::exists(snapshot_file()) || !holds_subject(19)) << "floats kept: " << keep_floats;
    }
}

TEST_F(RegistrySnapshot, KeyRotationResealsSnapshots) {
    auto node = open(options(true));
    for (std::size_t i = 0; i < 120; ++i) enrol(*node, i);
    ASSERT_TRUE(node->save_snapshot("acme"));
    node->rotate_key("test", key("key2"));
    fptest::expect_error_code(fp::ErrorCode::key_invalid, [&] { gal::read_snapshot(snapshots_, "acme", key()); });
    EXPECT_NO_THROW(gal::read_snapshot(snapshots_, "acme", key("key2")));
}

TEST_F(RegistrySnapshot, SnapshotFilesArePrivate) {
    auto node = open(options(true));
    for (std::size_t i = 0; i < 110; ++i) enrol(*node, i);
    ASSERT_TRUE(node->save_snapshot("acme"));
    const auto permissions = fs::status(snapshot_file()).permissions();
    EXPECT_EQ(permissions & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
    EXPECT_FALSE(open(options(false))->save_snapshot("acme")) << "no directory, no snapshot";
    fp::RegistryOptions missing = options(true);
    missing.snapshot_directory = dir_ / "absent";
    fptest::expect_error_code(fp::ErrorCode::io_error, [&] { open(missing); });
}
