// Liveness (presentation-attack detection): calibration parsing, the ISO/IEC 30107-3 rates, the
// crop geometry, the passive model on real photos, the burst challenge and same-face check, the
// `liveness` / `eval pad` commands, and — when ../shared/data/spoof is present — the shipped
// threshold against the held-out figures calibration/liveness.json claims.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "align/rotation.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"
#include "faceproof/liveness.hpp"
#include "liveness/challenge.hpp"
#include "eval/det_plot.hpp"
#include "report/liveness_json.hpp"
#include "eval/pad_batch.hpp"
#include "eval/pad_labels.hpp"
#include "eval/pad_metrics.hpp"
#include "liveness/passive_model.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
namespace pad = faceproof::pad;
using fp::ErrorCode;
using fptest::expect_error_code;

namespace {

std::string calibration_text(double threshold) {
    return nlohmann::json{{"format", "faceproof-liveness-calibration/1"}, {"threshold", threshold}}.dump();
}

// ---- calibration -----------------------------------------------------------------------------

TEST(LivenessCalibration, ParsesThresholdAndKeepsTheText) {
    const std::string text = calibration_text(0.42);
    const auto c = fp::LivenessCalibration::from_json(text);
    EXPECT_DOUBLE_EQ(c.threshold, 0.42);
    EXPECT_EQ(c.json, text);
}

TEST(LivenessCalibration, RejectsMalformedFiles) {
    for (const std::string bad : {std::string("not json"), std::string("[]"), std::string("{\"threshold\": 0.5}"),
                                  std::string(R"({"format": "faceproof-calibration/1", "threshold": 0.5})"),
                                  std::string(R"({"format": "faceproof-liveness-calibration/1"})"),
                                  std::string(R"({"format": "faceproof-liveness-calibration/1", "threshold": "0.5"})"),
                                  std::string(R"({"format": "faceproof-liveness-calibration/1", "threshold": 1.5})"),
                                  std::string(R"({"format": "faceproof-liveness-calibration/1", "threshold": -0.1})")})
        expect_error_code(ErrorCode::calibration_invalid, [&] { fp::LivenessCalibration::from_json(bad); });
}

TEST(LivenessCalibration, LoadsFilesAndReportsMissingOnes) {
    fptest::TempDir dir;
    fptest::write_text(dir / "l.json", calibration_text(0.3));
    EXPECT_DOUBLE_EQ(fp::LivenessCalibration::load(dir / "l.json").threshold, 0.3);
    expect_error_code(ErrorCode::io_error, [&] { fp::LivenessCalibration::load(dir / "absent.json"); });
}

TEST(LivenessCalibration, ShippedMatchesTheCalibrationFile) {
    const auto file = fptest::source_dir() / "calibration" / "liveness.json";
    if (!fptest::fs::exists(file)) GTEST_SKIP() << "calibration/liveness.json absent: this build ships none";
    const auto& shipped = fp::LivenessCalibration::shipped();
    EXPECT_DOUBLE_EQ(shipped.threshold, fp::LivenessCalibration::load(file).threshold)
        << "the embedded calibration is stale: re-run cmake so calibration/liveness.json is embedded again";
}

// ---- ISO/IEC 30107-3 rates -------------------------------------------------------------------

pad::Presentation bona(std::optional<double> s) { return {true, "", s}; }
pad::Presentation attack(const std::string& type, std::optional<double> s) { return {false, type, s}; }

// bona fide: 0.9, 0.8, 0.4, no face; print: 0.1, 0.6, no face; screen: 0.2, 0.95.
std::vector<pad::Presentation> hand_made() {
    return {bona(0.9),     bona(0.8),     bona(0.4),     bona(std::nullopt), attack("print", 0.1), attack("print", 0.6),
            attack("print", std::nullopt), attack("screen", 0.2), attack("screen", 0.95)};
}

TEST(PadMetrics, RatesByHand) {
    const pad::PadRates r = pad::pad_rates(hand_made(), 0.5);
    ASSERT_EQ(r.per_attack_type.size(), 2u);
    EXPECT_EQ(r.per_attack_type.at("print").presentations, 3);  // the faceless print is counted, and rejected
    EXPECT_EQ(r.per_attack_type.at("print").accepted, 1);
    EXPECT_DOUBLE_EQ(r.per_attack_type.at("print").apcer, 1.0 / 3);
    EXPECT_DOUBLE_EQ(r.per_attack_type.at("screen").apcer, 0.5);
    EXPECT_DOUBLE_EQ(r.apcer, 0.5);  // the worst attack type
    EXPECT_EQ(r.worst_attack_type, "screen");
    EXPECT_DOUBLE_EQ(r.apcer_pooled, 2.0 / 5);
    EXPECT_EQ(r.bona_fide, 4);
    EXPECT_EQ(r.bona_fide_rejected, 2);  // 0.4 and the faceless one
    EXPECT_DOUBLE_EQ(r.bpcer, 0.5);
    EXPECT_DOUBLE_EQ(r.acer, 0.5);
}

TEST(PadMetrics, TiesAreAcceptedAndFacelessIsAlwaysRejected) {
    const auto r = pad::pad_rates(hand_made(), 0.95);
    EXPECT_EQ(r.per_attack_type.at("screen").accepted, 1);  // 0.95 >= 0.95
    const auto low = pad::pad_rates(hand_made(), -1e9);
    EXPECT_EQ(low.per_attack_type.at("print").accepted, 2);  // everything with a face
    EXPECT_EQ(low.bona_fide_rejected, 1);
}

TEST(PadMetrics, ThresholdAtApcer) {
    bool resolvable = true;
    // No attack may pass: just above the highest attack score.
    double t = pad::threshold_at_apcer(hand_made(), 0.0, &resolvable);
    EXPECT_EQ(t, std::nextafter(0.95, 2.0));
    EXPECT_DOUBLE_EQ(pad::pad_rates(hand_made(), t).apcer, 0.0);
    // 50%: one print of three and one screen of two may pass; the screen type decides.
    t = pad::threshold_at_apcer(hand_made(), 0.5, &resolvable);
    EXPECT_TRUE(resolvable);
    EXPECT_EQ(t, std::nextafter(0.2, 1.0));
    EXPECT_LE(pad::pad_rates(hand_made(), t).apcer, 0.5);
    EXPECT_GT(pad::pad_rates(hand_made(), std::nextafter(t, 0.0)).apcer, 0.5);  // the lowest such threshold
    // 40%: with two screens, none may pass -> not resolvable for that type.
    t = pad::threshold_at_apcer(hand_made(), 0.4, &resolvable);
    EXPECT_FALSE(resolvable);
    EXPECT_EQ(t, std::nextafter(0.95, 2.0));
}

TEST(PadMetrics, DetCurveIsMonotoneAndEqualErrorPointIsOnIt) {
    const auto curve = pad::det_curve(hand_made());
    ASSERT_GE(curve.size(), 2u);
    EXPECT_DOUBLE_EQ(curve.front().bpcer, 0.25);  // only the faceless bona fide is rejected
    EXPECT_DOUBLE_EQ(curve.back().apcer, 0.0);
    EXPECT_DOUBLE_EQ(curve.back().bpcer, 1.0);
    for (std::size_t i = 1; i < curve.size(); ++i) {
        EXPECT_LT(curve[i - 1].threshold, curve[i].threshold);
        EXPECT_GE(curve[i - 1].apcer, curve[i].apcer);
        EXPECT_LE(curve[i - 1].bpcer, curve[i].bpcer);
    }
    const auto eer = pad::equal_error_point(curve);
    for (const auto& d : curve) EXPECT_LE(std::abs(eer.apcer - eer.bpcer), std::abs(d.apcer - d.bpcer));
}

TEST(PadMetrics, NeedsBothClasses) {
    expect_error_code(ErrorCode::invalid_argument, [] { pad::pad_rates({bona(0.5)}, 0.5); });
    expect_error_code(ErrorCode::invalid_argument, [] { pad::pad_rates({attack("print", 0.5)}, 0.5); });
    expect_error_code(ErrorCode::invalid_argument, [] { pad::threshold_at_apcer({bona(0.5)}, 0.05); });
}

TEST(PadMetrics, Probit) {
    EXPECT_NEAR(fp::probit(0.5), 0.0, 1e-9);
    EXPECT_NEAR(fp::probit(0.975), 1.959964, 1e-5);
    EXPECT_NEAR(fp::probit(0.001), -3.090232, 1e-5);
}

// ---- labels and split -------------------------------------------------------------------------

TEST(PadLabels, ParsesByColumnNameAndReportsBadLines) {
    fptest::TempDir dir;
    fptest::write_text(dir / "labels.csv",
                       "subject,file,attack_type,label,extra\r\nbob,real/a.jpg,live,real,x\r\n\nann,spoof/b.jpg,photo_print,spoof,y\n");
    const auto rows = fp::parse_pad_labels(dir / "labels.csv");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].file, "real/a.jpg");
    EXPECT_TRUE(rows[0].bona_fide);
    EXPECT_EQ(rows[1].subject, "ann");
    EXPECT_EQ(rows[1].attack_type, "photo_print");
    EXPECT_FALSE(rows[1].bona_fide);

    fptest::write_text(dir / "bad.csv", "file,label,attack_type,subject\na.jpg,maybe,live,bob\n");
    const std::string msg = expect_error_code(ErrorCode::invalid_argument, [&] { fp::parse_pad_labels(dir / "bad.csv"); });
    EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
    fptest::write_text(dir / "nohead.csv", "file,label\na.jpg,real\n");
    expect_error_code(ErrorCode::invalid_argument, [&] { fp::parse_pad_labels(dir / "nohead.csv"); });
}

TEST(PadLabels, SplitsAreDeterministicAndDisjoint) {
    const std::set<std::string> subjects{"d", "a", "c", "b", "e"};
    EXPECT_EQ(fp::split_subjects_alternate(subjects), (std::set<std::string>{"a", "c", "e"}));
    const auto h1 = fp::split_subjects_hashed(subjects, 7), h2 = fp::split_subjects_hashed(subjects, 7);
    EXPECT_EQ(h1, h2);
    for (const auto& s : h1) EXPECT_TRUE(subjects.count(s));
}

// ---- crop geometry ----------------------------------------------------------------------------

bool inside(const cv::Rect& r, cv::Size s) {
    return r.width > 0 && r.height > 0 && r.x >= 0 && r.y >= 0 && r.x + r.width <= s.width && r.y + r.height <= s.height;
}

TEST(LivenessCrop, ScalesTheBoxAboutItsCentre) {
    const cv::Rect r = fp::liveness_crop_rect({400, 300, 100, 120}, {1000, 800});
    EXPECT_EQ(r, cv::Rect(315, 198, 270, 324));  // 2.7 x the box, same centre (450, 360)
}

TEST(LivenessCrop, ShiftsIntoTheImageNearABorder) {
    const cv::Size image(640, 480);
    const cv::Rect r = fp::liveness_crop_rect({2, 5, 100, 100}, image);
    EXPECT_TRUE(inside(r, image)) << r;
    EXPECT_EQ(r.x, 0);
    EXPECT_EQ(r.y, 0);
    EXPECT_EQ(r.width, 270);  // still the full scale: shifted, not cut
    const cv::Rect br = fp::liveness_crop_rect({600, 440, 100, 100}, image);  // box partly outside
    EXPECT_TRUE(inside(br, image)) << br;
    EXPECT_EQ(br.x + br.width, 640);
    EXPECT_EQ(br.y + br.height, 480);
}

TEST(LivenessCrop, ReducesTheScaleWhenTheFaceIsLarge) {
    const cv::Size image(300, 200);
    const cv::Rect r = fp::liveness_crop_rect({-50, -40, 400, 300}, image);  // larger than the image
    EXPECT_TRUE(inside(r, image)) << r;
    EXPECT_EQ(r.height, 200);  // scale = min(2.7, 300/400, 200/300) = 2/3 -> 267 x 200
    EXPECT_NEAR(r.width, 267, 1);
    const cv::Rect big = fp::liveness_crop_rect({0, 0, 200, 150}, image);
    EXPECT_TRUE(inside(big, image)) << big;
}

TEST(LivenessCrop, NeverLeavesTheImage) {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-1, 1);
    for (int i = 0; i < 20000; ++i) {
        const cv::Size image(1 + static_cast<int>(500 * (u(rng) + 1)), 1 + static_cast<int>(500 * (u(rng) + 1)));
        const cv::Rect2f box(600 * u(rng), 600 * u(rng), 0.5f + 700 * (u(rng) + 1), 0.5f + 700 * (u(rng) + 1));
        const cv::Rect r = fp::liveness_crop_rect(box, image);
        ASSERT_TRUE(inside(r, image)) << "image " << image << " box " << box << " -> " << r;
    }
}

TEST(LivenessCrop, RejectsDegenerateInput) {
    expect_error_code(ErrorCode::invalid_argument, [] { fp::liveness_crop_rect({0, 0, 0, 10}, {100, 100}); });
    expect_error_code(ErrorCode::invalid_argument, [] {
        fp::liveness_crop_rect({0, 0, std::numeric_limits<float>::quiet_NaN(), 10}, {100, 100});
    });
    expect_error_code(ErrorCode::invalid_argument, [] { fp::liveness_crop_rect({0, 0, 10, 10}, {0, 100}); });
}

// ---- burst challenge (pure) -------------------------------------------------------------------

TEST(BurstChallenge, BlinkOpenClosedOpen) {
    const auto r = fp::evaluate_challenge({0.9, 0.95, 0.1, 0.05, 0.5, 0.92}, {0.9, 0.9, 0.2, 0.1, 0.6, 0.88},
                                          {0, 1, 0, -1, 0, 1});
    EXPECT_TRUE(r.assessed);
    EXPECT_TRUE(r.blink);
    EXPECT_FALSE(r.head_turn);
}

TEST(BurstChallenge, BlinkFromClosedToOpen) {
    EXPECT_TRUE(fp::evaluate_challenge({0.1, 0.2, 0.8}, {0.1, 0.25, 0.9}, {0, 0, 0}).blink);
}

TEST(BurstChallenge, NoBlink) {
    EXPECT_FALSE(fp::evaluate_challenge({0.9, 0.8, 0.9}, {0.9, 0.9, 0.95}, {0, 0, 0}).blink);  // always open
    EXPECT_FALSE(fp::evaluate_challenge({0.9, 0.1, 0.1}, {0.9, 0.1, 0.1}, {0, 0, 0}).blink);   // never reopens
    EXPECT_FALSE(fp::evaluate_challenge({0.9, 0.5, 0.9}, {0.9, 0.5, 0.9}, {0, 0, 0}).blink);   // half closed only
    EXPECT_FALSE(fp::evaluate_challenge({0.9, 0.1, 0.9}, {0.9, 0.9, 0.9}, {0, 0, 0}).blink);   // a wink
}

TEST(BurstChallenge, HeadTurn) {
    const auto r = fp::evaluate_challenge({0.9, 0.9, 0.9}, {0.9, 0.9, 0.9}, {-3, 5, 12.5});
    EXPECT_DOUBLE_EQ(r.yaw_range_deg, 15.5);
    EXPECT_TRUE(r.head_turn);
    EXPECT_FALSE(r.blink);
    EXPECT_FALSE(fp::evaluate_challenge({0.9, 0.9}, {0.9, 0.9}, {-4, 6}).head_turn);  // 10 degrees
}

TEST(BurstChallenge, StillPhotoShowsNoChallenge) {
    const std::vector<double> eyes(8, 0.93), yaw(8, 2.0);
    const auto r = fp::evaluate_challenge(eyes, eyes, yaw);
    EXPECT_FALSE(r.blink);
    EXPECT_FALSE(r.head_turn);
    EXPECT_DOUBLE_EQ(r.yaw_range_deg, 0.0);
}

TEST(BurstChallenge, RejectsInconsistentInput) {
    expect_error_code(ErrorCode::invalid_argument, [] { fp::evaluate_challenge({0.9}, {0.9, 0.9}, {0, 0}); });
    expect_error_code(ErrorCode::invalid_argument, [] { fp::evaluate_challenge({1.2}, {0.9}, {0}); });
    expect_error_code(ErrorCode::invalid_argument, [] {
        fp::evaluate_challenge({0.9}, {0.9}, {std::numeric_limits<double>::infinity()});
    });
}

TEST(BurstChallenge, Median) {
    EXPECT_DOUBLE_EQ(fp::median_of({0.9, 0.1, 0.5}), 0.5);
    EXPECT_DOUBLE_EQ(fp::median_of({0.9, 0.1, 0.5, 0.7}), 0.6);
    expect_error_code(ErrorCode::invalid_argument, [] { fp::median_of({}); });
}

// ---- the model on real photos -----------------------------------------------------------------

class LivenessModelTest : public fptest::ModelTest<LivenessModelTest> {
public:
    static void set_up_suite() {
        models_ = fptest::shared_models();
        engine_ = &fptest::shared_engine();
        checker_ = fp::LivenessChecker::create(*models_, fp::LivenessCalibration::from_json(calibration_text(0.5)));
        const auto& group = fptest::group_photo();
        photo_ = group.photo;
        faces_ = group.faces;
        templates_ = group.templates;
    }
    static void TearDownTestSuite() { checker_.reset(); }

protected:
    void SetUp() override {
        ModelTest::SetUp();
        if (HasFatalFailure()) return;
        ASSERT_EQ(faces_.size(), 4u) << "sample6.jpg shows four different women side by side";
    }

    // The context of a given face of image (its landmarks give the crop and the template).
    static fp::FaceContext context_of(const cv::Mat& image, const fp::Face& face) { return engine_->context(image, {face}); }

    static inline std::shared_ptr<const fp::ModelSet> models_;
    static inline fp::Engine* engine_ = nullptr;
    static inline std::unique_ptr<fp::LivenessChecker> checker_;
    static inline cv::Mat photo_;
    static inline std::vector<fp::Face> faces_;
    static inline std::vector<fp::Template> templates_;
};

TEST_F(LivenessModelTest, ScoreIsAProbabilityAndDeterministic) {
    for (int n = 1; n <= 6; ++n) {
        const fp::FaceContext face = engine_->context(fptest::load_sample(n));
        ASSERT_TRUE(face.has_face()) << "sample" << n;
        const double a = checker_->passive_score(face);
        const double b = checker_->passive_score(face);
        EXPECT_GE(a, 0.0) << "sample" << n;
        EXPECT_LE(a, 1.0) << "sample" << n;
        EXPECT_EQ(a, b) << "sample" << n << ": the same input must give the same score";
    }
    fp::PassiveModel model(*models_);
    const auto p = model.probabilities(context_of(photo_, faces_[0]));
    EXPECT_NEAR(p[0] + p[1] + p[2], 1.0, 1e-9);
    EXPECT_EQ(p[0], checker_->passive_score(context_of(photo_, faces_[0])));  // class 0 is the live class
}

TEST_F(LivenessModelTest, FacesAtTheBorderOrLargerThanTheImageAreScored) {
    const cv::Size s = photo_.size();
    fp::Face corner = faces_[0];
    corner.box = {static_cast<float>(s.width) - 40, static_cast<float>(s.height) - 30, 120, 140};  // mostly outside
    fp::Face huge = faces_[0];
    huge.box = {-100, -100, static_cast<float>(s.width) + 200, static_cast<float>(s.height) + 300};
    fp::PassiveModel model(*models_);
    for (const auto* f : {&corner, &huge}) {
        const fp::FaceContext face = context_of(photo_, *f);
        const cv::Mat crop = model.crop(face);
        EXPECT_EQ(crop.size(), cv::Size(128, 128));
        const double score = checker_->passive_score(face);
        EXPECT_GE(score, 0.0);
        EXPECT_LE(score, 1.0);
    }
}

TEST_F(LivenessModelTest, RotatedFacesAreCroppedUpright) {
    // The photo turned a quarter counter-clockwise: the detector finds its faces after turning it
    // back 90 degrees clockwise (rotation = 90). The crop, taken in the context's upright frame,
    // must be the upright one.
    const cv::Mat sideways = fp::rotate_clockwise(photo_, 270);
    fp::Face f = faces_[0];
    f.rotation = 90;
    f.box = fp::box_from_rotated(faces_[0].box, sideways.size(), 90);
    for (auto& p : f.landmarks68) p = fp::from_rotated(p, sideways.size(), 90);
    for (auto& p : f.landmarks5) p = fp::from_rotated(p, sideways.size(), 90);
    fp::PassiveModel model(*models_);
    const fp::FaceContext upright = context_of(photo_, faces_[0]), turned = context_of(sideways, f);
    const cv::Mat upright_crop = model.crop(upright);
    const cv::Mat rotated_crop = model.crop(turned);
    EXPECT_LT(cv::norm(upright_crop, rotated_crop, cv::NORM_L1) / upright_crop.total(), 3.0);
    EXPECT_NEAR(checker_->passive_score(turned), checker_->passive_score(upright), 0.02);
}

TEST_F(LivenessModelTest, BurstOfOnePersonUsesTheMedianAndAStillPhotoIsNoChallenge) {
    // One woman in three frames, the middle one degraded: three scores, one face, no movement.
    const cv::Mat crop = fptest::crop(photo_, fptest::grow_box(faces_[0].box, 0.6, photo_.size()));
    const std::vector<fp::FaceContext> frames{engine_->analyze(crop), engine_->analyze(fptest::degraded_copy(crop)),
                                              engine_->analyze(crop)};
    const auto r = checker_->assess(frames);
    ASSERT_EQ(r.frame_scores.size(), 3u);
    EXPECT_DOUBLE_EQ(r.score, fp::median_of(r.frame_scores));
    EXPECT_TRUE(r.burst);
    EXPECT_TRUE(r.challenge.same_face);
    EXPECT_TRUE(r.challenge.assessed) << "eye state and yaw come from each frame's context";
    EXPECT_FALSE(r.challenge.blink);
    EXPECT_FALSE(r.live);
    EXPECT_NE(std::find(r.reasons.begin(), r.reasons.end(), "NO_CHALLENGE"), r.reasons.end());
    EXPECT_EQ(r.passive_live, r.score >= r.threshold);
}

TEST_F(LivenessModelTest, DifferentPeopleInABurstIsFaceChanged) {
    for (int other = 1; other < 4; ++other) {
        const auto [lowest, same] = fp::same_face_check({templates_[0], templates_[other]});
        EXPECT_FALSE(same) << "women 0 and " << other << " have similarity " << lowest;
        const auto r = checker_->assess({context_of(photo_, faces_[0]), context_of(photo_, faces_[other])});
        EXPECT_FALSE(r.live);
        EXPECT_FALSE(r.challenge.same_face);
        EXPECT_LT(r.challenge.min_same_face_similarity, fp::kSameFaceMinSimilarity);
        EXPECT_NE(std::find(r.reasons.begin(), r.reasons.end(), "FACE_CHANGED"), r.reasons.end());
    }
}

TEST_F(LivenessModelTest, StillPhotoBurstWithAttributesIsNoChallenge) {
    const auto low = fp::LivenessChecker::create(*models_, fp::LivenessCalibration::from_json(calibration_text(0.0)));
    const std::vector<fp::FaceContext> frames(3, context_of(photo_, faces_[0]));
    const std::vector<fp::FrameAttributes> still(3, fp::FrameAttributes{0.9, 0.9, 1.0});
    auto r = low->assess(frames, still);
    EXPECT_TRUE(r.passive_live);  // threshold 0: the passive check passes
    EXPECT_TRUE(r.challenge.assessed);
    EXPECT_FALSE(r.live);
    EXPECT_EQ(r.reasons, std::vector<std::string>{"NO_CHALLENGE"});
    const std::vector<fp::FrameAttributes> blink{{0.9, 0.9, 0}, {0.1, 0.1, 0}, {0.9, 0.9, 0}};
    r = low->assess(frames, blink);
    EXPECT_TRUE(r.challenge.blink);
    EXPECT_TRUE(r.live);
    EXPECT_TRUE(r.reasons.empty());
    const auto j = fp::liveness_json(r);
    for (const char* key : {"live", "decision", "reasons", "score", "threshold", "passive_live", "frame_scores", "burst",
                            "same_face", "challenge"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["decision"], "live");
    EXPECT_EQ(j["challenge"]["blink"], true);
}

TEST_F(LivenessModelTest, InconsistentBurstsAreRejected) {
    expect_error_code(ErrorCode::invalid_argument, [&] { checker_->assess(std::vector<fp::FaceContext>{}); });
    expect_error_code(ErrorCode::invalid_argument, [&] {
        checker_->assess({context_of(photo_, faces_[0])}, std::vector<fp::FrameAttributes>(2));
    });
    expect_error_code(ErrorCode::invalid_argument,
                      [&] { checker_->assess({engine_->context(fptest::gradient_image(64, 64))}); });
}

// ---- the commands -----------------------------------------------------------------------------

TEST_F(LivenessModelTest, CliLivenessExitCodesAndJson) {
    fptest::TempDir dir;
    fptest::write_text(dir / "zero.json", calibration_text(0.0));
    fptest::write_text(dir / "one.json", calibration_text(1.0));
    const std::string sample = fptest::sample_path(1).string();
    auto r = fptest::run_cli({"liveness", sample, "--json", "--calibration", (dir / "zero.json").string()});
    ASSERT_EQ(r.exit_code, 0) << fptest::describe(r);
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["live"], true);
    EXPECT_EQ(j["frames"].size(), 1u);
    r = fptest::run_cli({"liveness", sample, "--json", "--calibration", (dir / "one.json").string()});
    ASSERT_EQ(r.exit_code, 1) << fptest::describe(r);
    j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["reasons"], nlohmann::json::array({"SPOOF_SUSPECTED"}));
    fptest::save_image(dir / "blank.png", fptest::gradient_image(320, 240));
    r = fptest::run_cli({"liveness", sample, (dir / "blank.png").string(), "--calibration", (dir / "zero.json").string()});
    EXPECT_EQ(r.exit_code, 2) << fptest::describe(r);  // no face in frame 2: cannot decide
    EXPECT_NE(r.err.find("frame 2"), std::string::npos) << r.err;
}

TEST_F(LivenessModelTest, CliEvalPadCountsFacelessImagesAndCalibrates) {
    fptest::TempDir dir;
    fptest::fs::copy_file(fptest::sample_path(1), dir / "a_real.jpg");
    fptest::fs::copy_file(fptest::sample_path(2), dir / "b_real.jpg");
    fptest::fs::copy_file(fptest::sample_path(3), dir / "b_screen.jpg");
    fptest::save_image(dir / "a_print.png", fptest::gradient_image(320, 240));  // no face: a rejected attack
    fptest::write_text(dir / "labels.csv", "file,label,attack_type,subject\na_real.jpg,real,live,a\n"
                                           "b_real.jpg,real,live,b\na_print.png,spoof,photo_print,a\n"
                                           "b_screen.jpg,spoof,screen_replay,b\n");
    fptest::write_text(dir / "cal.json", calibration_text(0.5));
    auto r = fptest::run_cli({"eval", "pad", "--root", dir.path().string(), "--labels", (dir / "labels.csv").string(),
                              "--calibration", (dir / "cal.json").string(), "--det", (dir / "det.png").string(),
                              "--json", "--threads", "2"});
    ASSERT_EQ(r.exit_code, 0) << fptest::describe(r);
    auto j = nlohmann::json::parse(r.out);
    for (const char* key : {"apcer", "bpcer", "acer", "bpcer_at_apcer", "per_attack_type", "images", "no_face"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["images"], 4);
    EXPECT_EQ(j["no_face"], 1);
    EXPECT_EQ(j["no_face_attacks"], 1);
    EXPECT_EQ(j["per_attack_type"]["photo_print"]["accepted"], 0);
    EXPECT_TRUE(j["bpcer_at_apcer"].contains("0.01"));
    EXPECT_TRUE(j["bpcer_at_apcer"].contains("0.05"));
    EXPECT_TRUE(j["held_out"].is_null());  // this calibration has no provenance
    EXPECT_FALSE(cv::imread((dir / "det.png").string()).empty());

    r = fptest::run_cli({"eval", "pad", "--root", dir.path().string(), "--labels", (dir / "labels.csv").string(),
                         "--calibrate-out", (dir / "out.json").string(), "--calibration-subjects", "a", "--json"});
    ASSERT_EQ(r.exit_code, 0) << fptest::describe(r);
    const auto written = fp::LivenessCalibration::load(dir / "out.json");
    const auto doc = nlohmann::json::parse(written.json);
    EXPECT_EQ(doc["source"]["calibration_subjects"], nlohmann::json::array({"a"}));
    EXPECT_EQ(doc["source"]["held_out_subjects"], nlohmann::json::array({"b"}));
    // Evaluating with it finds this labels file is its source and reports the held-out subject.
    r = fptest::run_cli({"eval", "pad", "--root", dir.path().string(), "--labels", (dir / "labels.csv").string(),
                         "--calibration", (dir / "out.json").string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << fptest::describe(r);
    j = nlohmann::json::parse(r.out);
    ASSERT_FALSE(j["held_out"].is_null());
    EXPECT_EQ(j["held_out"]["subjects"], nlohmann::json::array({"b"}));
    EXPECT_EQ(j["held_out"]["bona_fide"], 1);
    EXPECT_DOUBLE_EQ(j["held_out"]["bpcer"].get<double>(), doc["held_out"]["bpcer"].get<double>());

    r = fptest::run_cli({"eval", "pad", "--root", dir.path().string(), "--labels", (dir / "labels.csv").string(),
                         "--calibrate-out", (dir / "x.json").string(), "--calibration-subjects", "nobody"});
    EXPECT_EQ(r.exit_code, 64) << fptest::describe(r);
}

// ---- the labelled spoof set (../shared/data/spoof) --------------------------------------------

fptest::fs::path spoof_dir() { return fptest::source_dir() / ".." / "shared" / "data" / "spoof"; }

TEST(LivenessSpoofSet, ShippedThresholdMatchesItsHeldOutClaims) {
    if (!fptest::fs::exists(spoof_dir() / "labels.csv"))
        GTEST_SKIP() << "spoof set not found at " << spoof_dir().string()
                     << " (labels.csv); this test needs ../shared/data/spoof";
    const auto file = fptest::source_dir() / "calibration" / "liveness.json";
    if (!fptest::fs::exists(file)) GTEST_SKIP() << "calibration/liveness.json absent: this build ships no liveness calibration";
    const std::string problem = fptest::models_problem();
    if (!problem.empty()) GTEST_FAIL() << problem;

    const auto& calibration = fp::LivenessCalibration::shipped();
    const auto doc = nlohmann::json::parse(calibration.json);
    const auto calibration_subjects = doc["source"]["calibration_subjects"].get<std::set<std::string>>();
    const auto labels = fp::parse_pad_labels(spoof_dir() / "labels.csv");
    std::vector<fp::PadLabel> held;
    std::vector<fptest::fs::path> images;
    for (const auto& l : labels)
        if (!calibration_subjects.count(l.subject)) {
            held.push_back(l);
            images.push_back(spoof_dir() / l.file);
        }
    ASSERT_FALSE(held.empty());
    const auto scores = fp::score_images(fptest::shared_models(), {}, images, 0);

    std::vector<pad::Presentation> presentations;
    double live_sum = 0, print_sum = 0;
    int live_n = 0, print_n = 0;
    for (std::size_t i = 0; i < held.size(); ++i) {
        pad::Presentation p{held[i].bona_fide, held[i].bona_fide ? "" : held[i].attack_type, std::nullopt};
        if (scores[i].probabilities) {
            p.score = (*scores[i].probabilities)[0];
            if (held[i].bona_fide) live_sum += *p.score, ++live_n;
            if (held[i].attack_type == "photo_print" || held[i].attack_type == "paper_print")
                print_sum += *p.score, ++print_n;
        }
        presentations.push_back(p);
    }
    ASSERT_GT(live_n, 0);
    ASSERT_GT(print_n, 0);
    EXPECT_GT(live_sum / live_n, print_sum / print_n + 0.5) << "live faces must score far above prints on average";

    const auto r = pad::pad_rates(presentations, calibration.threshold);
    const auto& claim = doc["held_out"];
    EXPECT_EQ(r.bona_fide, claim["bona_fide"].get<int>());
    EXPECT_EQ(r.attacks, claim["attacks"].get<int>());
    EXPECT_NEAR(r.apcer, claim["apcer"].get<double>(), 0.02) << "held-out APCER differs from calibration/liveness.json";
    EXPECT_NEAR(r.bpcer, claim["bpcer"].get<double>(), 0.02) << "held-out BPCER differs from calibration/liveness.json";
}

}  // namespace
