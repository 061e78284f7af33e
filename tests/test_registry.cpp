// The registry: consent-based enrolment with refusals, the 1:N duplicate check, deletion, purge,
// key rotation, retention and the audit of each, on real faces (crops of the face-api photos) and
// a real SQLite file; plus the >= 1,000-subject LFW enrol -> search check when ../shared is there.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceproof/crypto.hpp"
#include "faceproof/proofing.hpp"
#include "faceproof/registry.hpp"
#include "eval/template_batch.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
namespace fs = std::filesystem;

namespace {

fp::Consent consent(const std::string& expires = "2099-01-01T00:00:00Z") {
    return {"identity-proofing", "consent", "notice-v2", "2024-01-01T00:00:00Z", expires};
}

std::vector<std::uint8_t> jpeg(const cv::Mat& image) {
    std::vector<std::uint8_t> out;
    cv::imencode(".jpg", image, out, {cv::IMWRITE_JPEG_QUALITY, 90});
    return out;
}

// Every face of the six face-api photos as its own single-face image, with a degraded copy (a
// second capture of the same person).
struct Person {
    std::string name;
    cv::Mat crop, second;
};

class RegistryTest : public fptest::ModelTest<RegistryTest> {
public:
    static void set_up_suite() {
        engine_ = &fptest::shared_engine();
        quality_ = fp::QualityAssessor::create();
        std::vector<fp::Template> templates;
        for (int n = 1; n <= 6; ++n) {
            const cv::Mat photo = fptest::load_sample(n);
            const auto faces = engine_->detect(photo);
            for (std::size_t i = 0; i < faces.size(); ++i) {
                if (faces[i].box.width < 60) continue;  // too small to be a usable enrolment image
                const cv::Mat crop = fptest::crop(photo, fptest::grow_box(faces[i].box, 0.6, photo.size()));
                if (engine_->detect(crop).empty()) continue;
                // The photos show some people more than once: keep one crop per person, so every
                // "person" here is someone else (similarity below the FMR 1e-2 threshold).
                const fp::Template t = engine_->analyze(crop).face_template();
                const double same = fp::Calibration::shipped().threshold_for(1e-2);
                if (std::any_of(templates.begin(), templates.end(),
                                [&](const fp::Template& o) { return fp::similarity(o, t) >= same; }))
                    continue;
                templates.push_back(t);
                people_.push_back({"sample" + std::to_string(n) + "-face" + std::to_string(i), crop,
                                   fptest::degraded_copy(crop)});
            }
        }
    }
    static void TearDownTestSuite() {
        quality_.reset();
        people_.clear();
    }

protected:
    void SetUp() override {
        ModelTest::SetUp();
        if (HasFatalFailure()) return;
        ASSERT_GE(people_.size(), 8u) << "expected at least 8 usable faces in the face-api photos";
        fp::DataKey::generate_file(dir_ / "key");
        fp::DataKey::generate_file(dir_ / "key2");
    }

    fp::Capture capture(const cv::Mat& image, fp::QualityProfile profile = fp::QualityProfile::selfie) {
        return fp::analyse_capture(*engine_, *quality_, jpeg(image), profile);
    }
    std::string url() const { return "sqlite:" + (dir_ / "registry.db").string(); }
    std::unique_ptr<fp::Registry> open(const std::vector<std::string>& key_files = {"key"},
                                       fp::RegistryOptions options = {}) {
        std::vector<fp::DataKey> keys;
        for (const auto& k : key_files) keys.push_back(fp::DataKey::from_file(dir_ / k));
        return fp::Registry::open(fp::Store::open(url()), std::move(keys), fp::Calibration::shipped(), options);
    }
    // Face-api crops are group-photo faces: many fail the selfie profile (turned heads, closed
    // eyes). Tests about the gallery enrol them without the quality gate; the gate has its own test.
    static fp::EnrolmentPolicy lenient() {
        fp::EnrolmentPolicy p;
        p.require_quality = false;
        return p;
    }

    static inline fp::Engine* engine_ = nullptr;
    static inline std::unique_ptr<fp::QualityAssessor> quality_;
    static inline std::vector<Person> people_;
    fptest::TempDir dir_{"faceproof-registry"};
};

TEST_F(RegistryTest, EnrolledPeopleAreFoundFirstAndOthersAreNot) {
    auto registry = open();
    const std::size_t enrolled = people_.size() - 3;  // the last three stay out
    for (std::size_t i = 0; i < enrolled; ++i) {
        const auto r = registry->enrol("test", "acme", people_[i].name, consent(), {capture(people_[i].crop)}, lenient());
        ASSERT_TRUE(r.enrolled) << people_[i].name << ": " << testing::PrintToString(r.reasons);
        EXPECT_EQ(r.template_ids.size(), 1u);
    }
    for (std::size_t i = 0; i < enrolled; ++i) {
        const fp::SearchResult r = registry->search("test", "acme", capture(people_[i].second));
        ASSERT_FALSE(r.candidates.empty()) << people_[i].name;
        EXPECT_EQ(r.candidates.front().subject, people_[i].name);
        EXPECT_TRUE(r.found()) << people_[i].name << " similarity " << r.candidates.front().similarity;
        EXPECT_EQ(r.gallery_subjects, enrolled);
        EXPECT_FALSE(r.approximate);
        for (std::size_t j = 1; j < r.candidates.size(); ++j) {
            EXPECT_FALSE(r.candidates[j].match) << "a second subject matched " << people_[i].name;
            EXPECT_LE(r.candidates[j].similarity, r.candidates[j - 1].similarity);
        }
    }
    for (std::size_t i = enrolled; i < people_.size(); ++i)
        EXPECT_FALSE(registry->search("test", "acme", capture(people_[i].crop)).found()) << people_[i].name;
    // Another tenant sees none of them.
    const auto other = registry->search("test", "beta", capture(people_[0].second));
    EXPECT_EQ(other.gallery_subjects, 0u);
    EXPECT_TRUE(other.candidates.empty());
}

TEST_F(RegistryTest, SearchThresholdFollowsGallerySize) {
    auto registry = open();
    const auto empty = registry->search("test", "acme", capture(people_[0].crop), {5, 1e-2});
    EXPECT_NEAR(empty.comparison_fmr, 1e-2, 1e-9);  // one comparison: the whole-search rate itself
    for (std::size_t i = 0; i < 5; ++i)
        ASSERT_TRUE(registry->enrol("test", "acme", people_[i].name, consent(), {capture(people_[i].crop)}, lenient()).enrolled);
    const auto five = registry->search("test", "acme", capture(people_[0].crop), {5, 1e-2});
    EXPECT_NEAR(five.comparison_fmr, 1 - std::pow(1 - 1e-2, 1.0 / 5), 1e-9);
    EXPECT_NEAR(five.search_fmr, 1e-2, 1e-9);
    EXPECT_GT(five.threshold, empty.threshold);  // more comparisons, stricter per comparison
    EXPECT_FALSE(five.threshold_clamped);
    // A target beyond the calibration is clamped and says so, with the rate really in force.
    const auto strict = registry->search("test", "acme", capture(people_[0].crop), {5, 1e-9});
    EXPECT_TRUE(strict.threshold_clamped);
    EXPECT_DOUBLE_EQ(strict.comparison_fmr, fp::Calibration::shipped().points().front().fmr);
    EXPECT_GT(strict.search_fmr, 1e-9);
    EXPECT_EQ(strict.candidates.size(), std::min<std::size_t>(5, strict.candidates.size()));
    fptest::expect_error_code(fp::ErrorCode::invalid_argument,
                              [&] { registry->search("test", "acme", capture(people_[0].crop), {0, 1e-2}); });
    fptest::expect_error_code(fp::ErrorCode::invalid_argument,
                              [&] { registry->search("test", "acme", capture(people_[0].crop), {5, 1.5}); });
}

TEST_F(RegistryTest, RefusesNoFacePoorQualityAndDuplicatesAndStoresNothing) {
    auto registry = open();
    const auto no_face = registry->enrol("test", "acme", "blank", consent(), {capture(fptest::gradient_image(400, 400))});
    EXPECT_FALSE(no_face.enrolled);
    ASSERT_EQ(no_face.reasons.size(), 1u);
    EXPECT_EQ(no_face.reasons[0], "NO_FACE image 1");

    // A face shrunk to a thumbnail and blurred fails the selfie profile.
    cv::Mat tiny;
    cv::resize(people_[0].crop, tiny, {40, 40}, 0, 0, cv::INTER_AREA);
    cv::GaussianBlur(tiny, tiny, {5, 5}, 2);
    cv::Mat canvas(400, 400, CV_8UC3, cv::Scalar(120, 120, 120));
    tiny.copyTo(canvas(cv::Rect(180, 180, 40, 40)));
    const auto poor = registry->enrol("test", "acme", "tiny", consent(), {capture(canvas)});
    EXPECT_FALSE(poor.enrolled);
    ASSERT_FALSE(poor.reasons.empty());
    EXPECT_TRUE(poor.reasons[0].rfind("POOR_QUALITY image 1:", 0) == 0 || poor.reasons[0] == "NO_FACE image 1")
        << poor.reasons[0];

    ASSERT_TRUE(registry->enrol("test", "acme", "alice", consent(), {capture(people_[0].crop)}, lenient()).enrolled);
    const auto dup = registry->enrol("test", "acme", "alias-of-alice", consent(), {capture(people_[0].second)}, lenient());
    EXPECT_FALSE(dup.enrolled);
    ASSERT_EQ(dup.reasons, std::vector<std::string>{"DUPLICATE_IDENTITY"});
    ASSERT_EQ(dup.duplicates.size(), 1u);
    EXPECT_EQ(dup.duplicates[0].subject, "alice");
    EXPECT_EQ(registry->subjects("acme", 100, 0), std::vector<std::string>{"alice"});

    // After review an operator may enrol anyway (twins); the duplicate is still reported.
    fp::EnrolmentPolicy allow = lenient();
    allow.refuse_duplicates = false;
    const auto allowed = registry->enrol("test", "acme", "alias-of-alice", consent(), {capture(people_[0].second)}, allow);
    EXPECT_TRUE(allowed.enrolled);
    EXPECT_EQ(allowed.duplicates.size(), 1u);
    // Adding another capture of alice to alice is not a duplicate of alice herself.
    const auto more = registry->add_templates("test", "acme", "alice", {capture(people_[0].crop)}, allow);
    EXPECT_TRUE(more.enrolled);

    fptest::expect_error_code(fp::ErrorCode::conflict, [&] {
        registry->enrol("test", "acme", "alice", consent(), {capture(people_[1].crop)}, lenient());
    });
    fptest::expect_error_code(fp::ErrorCode::consent_invalid, [&] {
        registry->enrol("test", "acme", "expired", consent("2020-01-01T00:00:00Z"), {capture(people_[1].crop)}, lenient());
    });
    fptest::expect_error_code(fp::ErrorCode::not_found, [&] {
        registry->add_templates("test", "acme", "nobody", {capture(people_[1].crop)}, lenient());
    });
    fptest::expect_error_code(fp::ErrorCode::invalid_argument,
                              [&] { registry->enrol("test", "a/b", "x", consent(), {capture(people_[1].crop)}); });
    fptest::expect_error_code(fp::ErrorCode::invalid_argument,
                              [&] { registry->enrol("test", "acme", "", consent(), {capture(people_[1].crop)}); });
    fptest::expect_error_code(fp::ErrorCode::invalid_argument, [&] { registry->enrol("test", "acme", "x", consent(), {}); });
    fptest::expect_error_code(fp::ErrorCode::no_face,
                              [&] { registry->search("test", "acme", capture(fptest::gradient_image(300, 300))); });
}

TEST_F(RegistryTest, DeletionPurgeAndRestartKeepIndexAndStoreTogether) {
    {
        auto registry = open();
        for (std::size_t i = 0; i < 4; ++i)
            ASSERT_TRUE(registry->enrol("test", "acme", people_[i].name, consent(), {capture(people_[i].crop)}, lenient()).enrolled);
        ASSERT_TRUE(registry->enrol("test", "acme", people_[4].name, consent("2030-01-01T00:00:00Z"),
                                    {capture(people_[4].crop)}, lenient()).enrolled);
        ASSERT_TRUE(registry->search("test", "acme", capture(people_[1].second)).found());
        EXPECT_TRUE(registry->remove("test", "acme", people_[1].name));
        EXPECT_FALSE(registry->remove("test", "acme", people_[1].name));
        EXPECT_FALSE(registry->subject("acme", people_[1].name));
        const auto after = registry->search("test", "acme", capture(people_[1].second));
        EXPECT_FALSE(after.found());
        EXPECT_EQ(after.gallery_subjects, 4u);
        for (const auto& c : after.candidates) EXPECT_NE(c.subject, people_[1].name);
        // The consent of people_[4] expires in 2030: a purge "in 2031" removes exactly it.
        EXPECT_EQ(registry->purge("test", "2031-01-01T00:00:00Z"),
                  std::vector<std::string>{"acme/" + people_[4].name});
        EXPECT_FALSE(registry->search("test", "acme", capture(people_[4].second)).found());
    }
    // A new process: the index is rebuilt from the store and agrees with it.
    auto registry = open();
    const auto r = registry->search("test", "acme", capture(people_[2].second));
    EXPECT_EQ(r.gallery_subjects, 3u);
    ASSERT_TRUE(r.found());
    EXPECT_EQ(r.candidates.front().subject, people_[2].name);
    EXPECT_FALSE(registry->search("test", "acme", capture(people_[1].second)).found());
}

TEST_F(RegistryTest, KeysWrongKeyRotationAndRetention) {
    fp::RegistryOptions retain;
    retain.retain_images = true;
    const std::vector<std::uint8_t> image = jpeg(people_[0].crop);
    {
        auto registry = open({"key"});
        ASSERT_TRUE(registry->enrol("test", "acme", "kept", consent(),
                                    {fp::analyse_capture(*engine_, *quality_, image, fp::QualityProfile::selfie)},
                                    lenient()).enrolled);
        auto retaining = open({"key"}, retain);
        ASSERT_TRUE(retaining->enrol("test", "acme", "with-image", consent(), {capture(people_[1].crop)}, lenient()).enrolled);
        const auto info = registry->subject("acme", "kept");
        ASSERT_TRUE(info);
        EXPECT_FALSE(info->templates[0].image_retained) << "images are not kept unless retention is on";
        EXPECT_TRUE(registry->subject("acme", "with-image")->templates[0].image_retained);
    }
    // The retained image is sealed: its bytes are not in the store in the clear.
    {
        auto store = fp::Store::open(url());
        const auto s = store->find("acme", "with-image");
        ASSERT_TRUE(s);
        const auto& sealed = s->templates[0].sealed_image;
        const std::vector<std::uint8_t> clear = jpeg(people_[1].crop);
        EXPECT_EQ(std::search(sealed.begin(), sealed.end(), clear.begin() + 100, clear.begin() + 132), sealed.end());
    }
    // Another key cannot read the templates: a clear error, not garbage matches.
    fptest::expect_error_code(fp::ErrorCode::key_invalid,
                              [&] { open({"key2"})->search("test", "acme", capture(people_[0].second)); });
    // No key at all: deleting and listing still work, enrolment and search say how to give one.
    fptest::expect_error_code(fp::ErrorCode::key_invalid,
                              [&] { open({})->search("test", "acme", capture(people_[0].second)); });
    EXPECT_EQ(open({})->subjects("acme", 10, 0).size(), 2u);

    open({"key"})->rotate_key("test", fp::DataKey::from_file(dir_ / "key2"));
    const std::string new_id = fp::DataKey::from_file(dir_ / "key2").id();
    for (const auto& ref : {"kept", "with-image"}) {
        const auto info = open({})->subject("acme", ref);
        ASSERT_TRUE(info);
        for (const auto& t : info->templates) EXPECT_EQ(t.key_id, new_id);
    }
    const auto found = open({"key2"})->search("test", "acme", capture(people_[0].second));
    ASSERT_TRUE(found.found());
    EXPECT_EQ(found.candidates.front().subject, "kept");
    fptest::expect_error_code(fp::ErrorCode::key_invalid,
                              [&] { open({"key"})->search("test", "acme", capture(people_[0].second)); });
    // Rerunning the rotation (e.g. after an interruption) changes nothing and still works.
    open({"key", "key2"})->rotate_key("test", fp::DataKey::from_file(dir_ / "key2"));
    EXPECT_TRUE(open({"key2"})->search("test", "acme", capture(people_[1].second)).found());
    // The retained image survives the rotation and opens with the new key.
    auto store = fp::Store::open(url());
    const auto s = store->find("acme", "with-image");
    const auto plain = fp::open(fp::DataKey::from_file(dir_ / "key2"), s->templates[0].sealed_image,
                                "faceproof/image|acme|with-image");
    EXPECT_EQ(plain, jpeg(people_[1].crop));
}

TEST_F(RegistryTest, EveryDecisionIsAuditedWithoutBiometricData) {
    auto registry = open();
    ASSERT_TRUE(registry->enrol("op-1", "acme", "alice", consent(), {capture(people_[0].crop)}, lenient()).enrolled);
    registry->enrol("op-1", "acme", "blank", consent(), {capture(fptest::gradient_image(300, 300))});
    registry->search("op-2", "acme", capture(people_[0].second));
    registry->remove("op-1", "acme", "alice");
    registry->purge("op-3", "2031-01-01T00:00:00Z");
    registry->rotate_key("op-4", fp::DataKey::from_file(dir_ / "key2"));
    const auto entries = registry->audit(std::nullopt, 0, 100);
    std::vector<std::string> actions;
    for (const auto& e : entries) actions.push_back(e.action + ":" + e.outcome);
    EXPECT_EQ(actions, (std::vector<std::string>{"enrol:enrolled", "enrol:refused", "search:found", "delete:deleted",
                                                 "purge:done", "rotate_key:done"}));
    EXPECT_EQ(entries[0].actor, "op-1");
    EXPECT_EQ(entries[0].subject, "alice");
    EXPECT_EQ(entries[2].subject, "alice");  // the best match of the search
    EXPECT_GT(entries[2].details.at("top_similarity").get<double>(), 0.3);
    EXPECT_EQ(entries[2].details.at("model_id"), engine_->template_model_id());
    for (const auto& e : entries) EXPECT_NO_THROW(fp::check_no_biometrics(e.details)) << e.details.dump();
    std::int64_t count = 0;
    EXPECT_TRUE(registry->verify_audit(&count).ok);
    EXPECT_EQ(count, 6);
    EXPECT_EQ(registry->audit(std::string("acme"), 0, 100).size(), 4u);  // purge summary and rotation are global
}

TEST_F(RegistryTest, ConcurrentSearchesDuringEnrolments) {
    auto registry = open();
    std::vector<fp::Capture> probes;
    for (std::size_t i = 0; i < 6; ++i) probes.push_back(capture(people_[i].second));
    ASSERT_TRUE(registry->enrol("test", "acme", people_[0].name, consent(), {capture(people_[0].crop)}, lenient()).enrolled);
    std::atomic<bool> done{false};
    std::atomic<int> wrong{0}, searches{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t)
        readers.emplace_back([&] {
            while (!done) {
                const auto r = registry->search("reader", "acme", probes[0]);
                if (!r.found() || r.candidates.front().subject != people_[0].name) ++wrong;
                ++searches;
            }
        });
    for (std::size_t i = 1; i < 6; ++i)
        EXPECT_TRUE(registry->enrol("writer", "acme", people_[i].name, consent(), {capture(people_[i].crop)}, lenient()).enrolled);
    done = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_GT(searches.load(), 0);
    for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(registry->search("t", "acme", probes[i]).candidates.front().subject, people_[i].name);
    EXPECT_TRUE(registry->verify_audit().ok);
}

// ----------------------------------------------------------------------------------------------
// >= 1,000 LFW subjects: enrol one image of each identity, search with another image of the same
// identity (found first) and with identities that were not enrolled (found: nobody, mostly).
TEST(RegistryLfw, ThousandSubjectsEnrolThenSearch) {
    const fs::path root = fptest::lfw_dev_dir();
    if (!fs::exists(root / "pairsDevTrain.txt"))
        GTEST_SKIP() << "LFW dev set not found at " << root << "; this test needs ../shared/data/lfw-dev";
    if (const auto problem = fptest::engine_prerequisites_problem(); !problem.empty()) FAIL() << problem;
    // Identities in name order; those with >= 2 images are enrolled (first image) and searched
    // (second image); every 10th single-image identity is kept out as a "not enrolled" probe.
    std::vector<fs::path> gallery_images, mated_probes, outsider_probes;
    std::vector<std::string> gallery_names;
    std::vector<fs::path> identities;
    for (const auto& entry : fs::directory_iterator(root))
        if (entry.is_directory()) identities.push_back(entry.path());
    std::sort(identities.begin(), identities.end());
    std::size_t singles = 0;
    for (const auto& dir : identities) {
        std::vector<fs::path> images;
        for (const auto& f : fs::directory_iterator(dir))
            if (f.path().extension() == ".jpg") images.push_back(f.path());
        std::sort(images.begin(), images.end());
        if (images.size() >= 2) {
            gallery_names.push_back(dir.filename().string());
            gallery_images.push_back(images[0]);
            mated_probes.push_back(images[1]);
        } else if (images.size() == 1 && singles++ % 10 == 0) {
            outsider_probes.push_back(images[0]);
        }
    }
    // Fill the gallery past 1,000 subjects with single-image identities not used as outsiders.
    singles = 0;
    for (const auto& dir : identities) {
        if (gallery_images.size() >= 1200) break;
        std::vector<fs::path> images;
        for (const auto& f : fs::directory_iterator(dir))
            if (f.path().extension() == ".jpg") images.push_back(f.path());
        if (images.size() == 1 && singles++ % 10 != 0) {
            gallery_names.push_back(dir.filename().string());
            gallery_images.push_back(images[0]);
        }
    }
    ASSERT_GE(gallery_images.size(), 1000u);
    std::vector<fs::path> all = gallery_images;
    all.insert(all.end(), mated_probes.begin(), mated_probes.end());
    all.insert(all.end(), outsider_probes.begin(), outsider_probes.end());
    const std::vector<fp::BatchItem> items = fp::compute_templates(fptest::shared_models(), {}, all, 0);

    fptest::TempDir dir("faceproof-registry-lfw");
    fp::DataKey::generate_file(dir / "key");
    std::vector<fp::DataKey> keys;
    keys.push_back(fp::DataKey::from_file(dir / "key"));
    auto registry = fp::Registry::open(fp::Store::open("sqlite:" + (dir / "lfw.db").string()), std::move(keys),
                                       fp::Calibration::shipped());
    fp::EnrolmentPolicy policy;
    policy.require_quality = false;  // LFW: templates only (quality is measured in test_quality)
    std::size_t enrolled = 0, refused_duplicate = 0;
    std::set<std::string> enrolled_names;
    for (std::size_t i = 0; i < gallery_images.size(); ++i) {
        if (!items[i].face_template) continue;
        fp::Capture c;
        c.face_template = items[i].face_template;
        const auto r = registry->enrol("lfw-test", "lfw", gallery_names[i], consent(), {c}, policy);
        if (r.enrolled) ++enrolled, enrolled_names.insert(gallery_names[i]);
        else refused_duplicate += r.reasons == std::vector<std::string>{"DUPLICATE_IDENTITY"};
    }
    ASSERT_GE(enrolled, 1000u);
    std::size_t mated = 0, first = 0;
    for (std::size_t i = 0; i < mated_probes.size(); ++i) {
        const auto& item = items[gallery_images.size() + i];
        if (!item.face_template || !enrolled_names.count(gallery_names[i])) continue;
        fp::Capture c;
        c.face_template = item.face_template;
        const auto r = registry->search("lfw-test", "lfw", c);
        ++mated;
        first += r.found() && r.candidates.front().subject == gallery_names[i];
    }
    std::size_t outsiders = 0, false_alarms = 0;
    for (std::size_t i = 0; i < outsider_probes.size(); ++i) {
        const auto& item = items[gallery_images.size() + mated_probes.size() + i];
        if (!item.face_template) continue;
        fp::Capture c;
        c.face_template = item.face_template;
        ++outsiders;
        false_alarms += registry->search("lfw-test", "lfw", c).found();
    }
    const auto r0 = registry->search("lfw-test", "lfw", [&] {
        fp::Capture c;
        c.face_template = items[gallery_images.size()].face_template;
        return c;
    }());
    const double hit_rate = double(first) / mated, false_alarm_rate = double(false_alarms) / outsiders;
    std::cout << "[ LFW 1:N ] gallery " << enrolled << " subjects (" << refused_duplicate
              << " refused as duplicates), threshold " << r0.threshold << " (per comparison FMR " << r0.comparison_fmr
              << ", whole search " << r0.search_fmr << ")\n"
              << "[ LFW 1:N ] mated searches " << mated << ": found first " << first << " (" << 100 * hit_rate
              << "%); not-enrolled searches " << outsiders << ": false alarms " << false_alarms << " ("
              << 100 * false_alarm_rate << "%)\n";
    EXPECT_GE(mated, 500u);
    EXPECT_GE(outsiders, 100u);
    // LFW at FMR 1e-5 per comparison: ~95% (measured 95.5%); a regression shows well below.
    EXPECT_GE(hit_rate, 0.93);
    // The whole-search target is 1e-2; allow sampling noise on a few hundred outsiders.
    EXPECT_LE(false_alarm_rate, 0.03);
}

}  // namespace

namespace {

// Two registries on one database stand for two nodes (or the CLI beside a server): the change feed
// carries enrolments and deletions from one to the other.
TEST_F(RegistryTest, ChangeFeedKeepsTwoRegistriesConsistent) {
    auto a = open();
    auto b = open();
    ASSERT_TRUE(a->enrol("node-a", "acme", people_[0].name, consent(), {capture(people_[0].crop)}, lenient()).enrolled);
    EXPECT_EQ(b->search("node-b", "acme", capture(people_[1].second)).gallery_subjects, 1u);  // b loads acme now
    ASSERT_TRUE(a->enrol("node-a", "acme", people_[1].name, consent(), {capture(people_[1].crop)}, lenient()).enrolled);
    EXPECT_FALSE(b->search("node-b", "acme", capture(people_[1].second)).found()) << "b has not synced yet";
    EXPECT_GE(b->sync(), 1u);
    const auto found = b->search("node-b", "acme", capture(people_[1].second));
    ASSERT_TRUE(found.found());
    EXPECT_EQ(found.candidates.front().subject, people_[1].name);
    EXPECT_EQ(b->sync(), 0u);  // nothing new
    // A deletion on b reaches a; so does a template added on b.
    ASSERT_TRUE(a->search("node-a", "acme", capture(people_[0].second)).found());
    EXPECT_TRUE(b->remove("node-b", "acme", people_[0].name));
    ASSERT_TRUE(b->add_templates("node-b", "acme", people_[1].name, {capture(people_[1].second)}, lenient()).enrolled);
    a->sync();
    EXPECT_FALSE(a->search("node-a", "acme", capture(people_[0].second)).found());
    EXPECT_EQ(a->search("node-a", "acme", capture(people_[1].second)).gallery_templates, 2u);
    // The feed carries references only; a sync after a vacuum (which may prune it) still agrees.
    a->vacuum();
    b->sync();
    EXPECT_EQ(b->search("node-b", "acme", capture(people_[1].second)).gallery_templates, 2u);
}

}  // namespace
