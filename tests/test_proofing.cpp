// The identity check as a whole (IdentityVerifier and `faceproof verify`): quality and liveness
// decide by default, a replayed still photo fails a burst, a spoof is refused with its reasons.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "faceproof/engine.hpp"
#include "faceproof/proofing.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using nlohmann::json;

namespace {

class ProofingTest : public fptest::ModelTest<ProofingTest> {
public:
    static void set_up_suite() {
        verifier_ = fp::IdentityVerifier::create(fptest::shared_models(), fp::Calibration::shipped(),
                                                 fp::LivenessCalibration::shipped());
        const auto& group = fptest::group_photo();
        if (group.faces.size() < 2) throw std::runtime_error("sample6.jpg should show four faces");
        for (int i = 0; i < 2; ++i)
            crops_.push_back(fptest::crop(group.photo, fptest::grow_box(group.faces[i].box, 0.8, group.photo.size())));
    }
    static void TearDownTestSuite() {
        verifier_.reset();
        crops_.clear();
    }

protected:
    static inline std::unique_ptr<fp::IdentityVerifier> verifier_;
    static inline std::vector<cv::Mat> crops_;
};

bool has_reason(const fp::ProofingResult& r, const std::string& code) {
    return std::find(r.reasons.begin(), r.reasons.end(), code) != r.reasons.end();
}

TEST_F(ProofingTest, ReportsQualityOfBothImagesAndLivenessOfTheProbe) {
    const fp::ProofingResult r = verifier_->check(crops_[0], {fptest::degraded_copy(crops_[0])}, {});
    EXPECT_EQ(r.reference_quality.profile, fp::QualityProfile::document);
    ASSERT_EQ(r.probe.quality.size(), 1u);
    EXPECT_EQ(r.probe.quality[0].profile, fp::QualityProfile::selfie);
    EXPECT_FALSE(r.reference_quality.measures.empty());
    ASSERT_EQ(r.probe.liveness.frame_scores.size(), 1u);
    EXPECT_FALSE(r.probe.liveness.burst);
    EXPECT_DOUBLE_EQ(r.probe.liveness.threshold, fp::LivenessCalibration::shipped().threshold);
    EXPECT_TRUE(r.match.match) << r.match.similarity;  // the same face
    // The decision is the face match AND the checks, and says why when it refuses.
    EXPECT_EQ(r.accepted, r.reasons.empty());
    EXPECT_EQ(has_reason(r, "SPOOF_SUSPECTED"), !r.probe.liveness.live);
    EXPECT_EQ(has_reason(r, "PROBE_QUALITY"), !r.probe.quality[0].pass);
}

TEST_F(ProofingTest, WithoutRequiredChecksOnlyTheFaceMatchDecides) {
    fp::ProofingOptions options;
    options.require_liveness = false;
    const fp::ProofingResult same = verifier_->check(crops_[0], {fptest::degraded_copy(crops_[0])}, options);
    EXPECT_TRUE(same.accepted);
    EXPECT_TRUE(same.reasons.empty());
    const fp::ProofingResult other = verifier_->check(crops_[0], {crops_[1]}, options);
    EXPECT_FALSE(other.accepted);
    EXPECT_EQ(other.reasons, std::vector<std::string>{"NO_MATCH"});
}

// A still photo held up to the camera gives identical frames: no blink, no head turn.
TEST_F(ProofingTest, ReplayedStillPhotoFailsTheBurstChallenge) {
    const cv::Mat still = fptest::degraded_copy(crops_[0]);
    const fp::ProofingResult r = verifier_->check(crops_[0], {still, still, still, still}, {});
    EXPECT_TRUE(r.probe.liveness.burst);
    EXPECT_TRUE(r.probe.liveness.challenge.assessed);
    EXPECT_FALSE(r.probe.liveness.challenge.blink);
    EXPECT_LT(r.probe.liveness.challenge.yaw_range_deg, 1.0);
    EXPECT_FALSE(r.probe.liveness.live);
    EXPECT_TRUE(has_reason(r, "NO_CHALLENGE")) << testing::PrintToString(r.reasons);
    EXPECT_FALSE(r.accepted);
}

TEST_F(ProofingTest, AnotherPersonInTheBurstIsFaceChanged) {
    const fp::ProofingResult r = verifier_->check(crops_[0], {crops_[0], crops_[1]}, {});
    EXPECT_FALSE(r.probe.liveness.challenge.same_face);
    EXPECT_TRUE(has_reason(r, "FACE_CHANGED")) << testing::PrintToString(r.reasons);
    EXPECT_FALSE(r.accepted);
}

TEST_F(ProofingTest, ErrorsNameTheFrame) {
    const cv::Mat blank = fptest::gradient_image(320, 240);
    const std::string message = fptest::expect_error_code(fp::ErrorCode::no_face, [&] {
        verifier_->check(crops_[0], {crops_[0], blank}, {});
    });
    EXPECT_NE(message.find("probe frame 2"), std::string::npos) << message;
}

// Spoof set (../shared/data/spoof): a printed photo of a subject against that subject's live
// capture as reference is refused by default, with the reason in the CLI's JSON, exit 1.
TEST(ProofingSpoofSet, PrintedPhotoIsRefusedByDefault) {
    const fptest::fs::path root = fptest::source_dir() / ".." / "shared" / "data" / "spoof";
    if (!fptest::fs::exists(root / "labels.csv")) GTEST_SKIP() << "spoof set not present at " << root;
    std::ifstream labels(root / "labels.csv");
    std::string line, live, print;
    std::getline(labels, line);
    while (std::getline(labels, line) && (live.empty() || print.empty())) {
        std::stringstream fields(line);
        std::string file, label, attack, subject;
        std::getline(fields, file, ',');
        std::getline(fields, label, ',');
        std::getline(fields, attack, ',');
        std::getline(fields, subject, ',');
        if (subject != "nuaa_0003") continue;
        if (label == "real" && live.empty()) live = file;
        if (attack == "photo_print" && print.empty()) print = file;
    }
    ASSERT_FALSE(live.empty() || print.empty()) << "labels.csv lacks nuaa_0003 live/print images";
    const auto r = fptest::run_cli({"verify", (root / live).string(), (root / print).string(), "--json"});
    ASSERT_EQ(r.exit_code, 1) << fptest::describe(r);
    const json j = json::parse(r.out);
    EXPECT_EQ(j["match"], false);
    EXPECT_EQ(j["liveness"]["live"], false) << j["liveness"];
    const auto reasons = j["reasons"].get<std::vector<std::string>>();
    EXPECT_NE(std::find(reasons.begin(), reasons.end(), "SPOOF_SUSPECTED"), reasons.end()) << j["reasons"];
    for (const char* key : {"reference", "probe", "probe_frames"}) EXPECT_TRUE(j["quality"].contains(key)) << key;
}

}  // namespace
