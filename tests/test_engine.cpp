// End-to-end tests of the engine on real photos (test-data/face-api, installed by scripts/setup.sh)
// with the real models: detection, landmarks, alignment and templates under the transformations
// an identity check meets (re-encoding, scaling, small rotations, tight ID crops, sideways cards,
// small faces on large scans), and verify() decisions. One Engine for the whole suite.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "detect/face_detector.hpp"
#include "align/rotation.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"
#include "eval/lfw_pairs.hpp"
#include "faceproof/image.hpp"
#include "faceproof/calibration.hpp"
#include "faceproof/template.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using fp::ErrorCode;
using fptest::expect_error_code;

namespace {

class EngineTest : public fptest::ModelTest<EngineTest> {
protected:
    void SetUp() override {
        ModelTest::SetUp();
        if (HasFatalFailure()) return;
        ASSERT_EQ(faces_.size(), 4u) << "sample6.jpg shows four women side by side";
    }

    // Index of the template most similar to t among the faces of sample6, and that similarity.
    static std::pair<int, double> best_match(const fp::Template& t) {
        int best = -1;
        double best_s = -2;
        for (int i = 0; i < static_cast<int>(templates_.size()); ++i) {
            const double s = fp::similarity(t, templates_[i]);
            if (s > best_s) best_s = s, best = i;
        }
        return {best, best_s};
    }

public:
    static void set_up_suite() {
        engine_ = &fptest::shared_engine();
        const auto& group = fptest::group_photo();
        photo_ = group.photo;
        faces_ = group.faces;
        templates_ = group.templates;
    }

protected:
    static inline fp::Engine* engine_ = nullptr;
    static inline cv::Mat photo_;                     // sample6.jpg
    static inline std::vector<fp::Face> faces_;       // its faces, as detect() returns them
    static inline std::vector<fp::Template> templates_;  // templates_[i] of faces_[i]
};

double eye_to_chin(const fp::Face& f) {
    const cv::Point2f eyes = (f.landmarks5[0] + f.landmarks5[1]) * 0.5f;
    return cv::norm(f.landmarks68[8] - eyes);
}

}  // namespace

TEST_F(EngineTest, FourFacesWithLandmarksInsideTheirBoxes) {
    for (std::size_t i = 0; i < faces_.size(); ++i) {
        SCOPED_TRACE(testing::Message() << "face " << i << " box " << faces_[i].box);
        const fp::Face& f = faces_[i];
        EXPECT_TRUE(f.has_landmarks);
        EXPECT_EQ(f.rotation, 0);
        EXPECT_GE(f.detection_score, 0.7f);
        EXPECT_LE(f.detection_score, 1.0f);
        EXPECT_GT(f.box.width, 100.f) << "faces in this photo are ~200 px";
        EXPECT_TRUE((cv::Rect2f({0, 0}, cv::Size2f(photo_.size())) & f.box) == f.box) << "box not clipped";
        // The five points lie inside the box; the 68 (jaw included) at most slightly outside.
        for (const auto& p : f.landmarks5) EXPECT_TRUE(f.box.contains(p)) << p;
        const cv::Rect2f loose(f.box.x - 0.1f * f.box.width, f.box.y - 0.1f * f.box.height, 1.2f * f.box.width,
                               1.2f * f.box.height);
        for (int k = 0; k < 68; ++k) EXPECT_TRUE(loose.contains(f.landmarks68[k])) << "point " << k << " " << f.landmarks68[k];
        // Face geometry in image order: eyes side by side above the nose, mouth below.
        EXPECT_LT(f.landmarks5[0].x, f.landmarks5[1].x);
        EXPECT_GT(f.landmarks5[2].y, std::max(f.landmarks5[0].y, f.landmarks5[1].y));
        EXPECT_GT(std::min(f.landmarks5[3].y, f.landmarks5[4].y), f.landmarks5[2].y);
        EXPECT_LT(f.landmarks5[3].x, f.landmarks5[4].x);
        // Distinct faces.
        for (std::size_t j = i + 1; j < faces_.size(); ++j)
            EXPECT_LT(fp::intersection_over_union(f.box, faces_[j].box), 0.1f) << "face " << j;
    }
    // Most prominent first, then by decreasing score.
    EXPECT_EQ(fp::most_prominent_face(faces_, photo_.size()), 0);
    for (std::size_t i = 2; i < faces_.size(); ++i) EXPECT_GE(faces_[i - 1].detection_score, faces_[i].detection_score);
}

// Four different women, same photo, same light and camera: the hardest impostors there are, yet well
// below a same-person level (0.5 .. 0.9). Measured: at most ~0.30, mean ~0.13.
TEST_F(EngineTest, DifferentPeopleInOnePhotoDoNotMatch) {
    double sum = 0;
    int pairs = 0;
    for (std::size_t i = 0; i < templates_.size(); ++i) {
        EXPECT_EQ(templates_[i].model_id, engine_->template_model_id());
        EXPECT_EQ(templates_[i].values.size(), 512u);
        EXPECT_NEAR(fp::similarity(templates_[i], templates_[i]), 1.0, 1e-5);
        for (std::size_t j = i + 1; j < templates_.size(); ++j) {
            const double s = fp::similarity(templates_[i], templates_[j]);
            EXPECT_LT(s, 0.35) << "faces " << i << " and " << j << " are different women";
            sum += s;
            ++pairs;
        }
    }
    EXPECT_LT(sum / pairs, 0.2) << "mean similarity of different people";
}

// analyze() locates landmarks for the face it analyses only; the others are still reported (and
// counted by quality's single-face check). Its primary face and template are detect()'s.
TEST_F(EngineTest, AnalyzeLandmarksThePrimaryFaceOnly) {
    const fp::FaceContext a = engine_->analyze(photo_);
    ASSERT_EQ(a.faces().size(), faces_.size());
    EXPECT_TRUE(a.faces()[0].has_landmarks);
    for (std::size_t i = 1; i < a.faces().size(); ++i) EXPECT_FALSE(a.faces()[i].has_landmarks) << "face " << i;
    EXPECT_EQ(a.faces()[0].box, faces_[0].box);
    for (int k = 0; k < 68; ++k) EXPECT_EQ(a.faces()[0].landmarks68[k], faces_[0].landmarks68[k]) << "point " << k;
    EXPECT_EQ(fp::similarity(a.face_template(), templates_[0]), fp::similarity(templates_[0], templates_[0]));
}

TEST_F(EngineTest, EachFaceMatchesADegradedCopyOfItself) {
    for (std::size_t i = 0; i < faces_.size(); ++i) {
        SCOPED_TRACE(testing::Message() << "face " << i);
        const cv::Mat region = fptest::crop(photo_, fptest::grow_box(faces_[i].box, 0.5, photo_.size()));
        const cv::Mat copy = fptest::degraded_copy(region);
        const fp::FaceContext a = engine_->analyze(copy);
        const double s = fp::similarity(a.face_template(), templates_[i]);
        const auto [best, best_s] = best_match(a.face_template());
        EXPECT_EQ(a.faces().size(), 1u);
        EXPECT_GT(s, 0.6);
        EXPECT_EQ(best, static_cast<int>(i)) << "best match is face " << best << " (" << best_s << ")";
        for (const char* stage : {"detect", "landmarks", "align", "embed"}) EXPECT_TRUE(a.timings().count(stage)) << stage;
    }
}

TEST_F(EngineTest, TightPortraitCropIsFoundAndMatches) {
    for (std::size_t i = 0; i < faces_.size(); ++i) {
        for (double inset : {0.0, 0.05}) {
            SCOPED_TRACE(testing::Message() << "face " << i << " inset " << inset);
            const cv::Mat portrait = fptest::crop(photo_, fptest::shrink_box(faces_[i].box, inset, photo_.size()));
            const fp::FaceContext a = engine_->analyze(portrait);
            const double s = fp::similarity(a.face_template(), templates_[i]);
            EXPECT_EQ(a.faces().size(), 1u);
            EXPECT_GT(s, 0.5);
            EXPECT_EQ(best_match(a.face_template()).first, static_cast<int>(i));
        }
    }
}

// The detector also fires on sideways faces (scores up to 0.99), so a card photographed sideways
// must still come back upright: the engine re-checks the orientation of a low-norm face. Expected:
// rotation 270 for an image turned 90 degrees clockwise, 90 for one turned counter-clockwise, the
// landmarks on the face, and a template that matches the upright one.
TEST_F(EngineTest, SidewaysImageIsTurnedUpright) {
    const fp::Face& face = faces_[0];
    const cv::Mat upright = fptest::crop(photo_, fptest::grow_box(face.box, 0.6, photo_.size()));
    const std::vector<fp::Face> reference = engine_->detect(upright);
    ASSERT_FALSE(reference.empty());
    ASSERT_EQ(reference[0].rotation, 0);
    const fp::Template upright_template = engine_->embed(upright, reference[0]);

    // turn = how the card was photographed (clockwise); the engine must report the inverse.
    for (int turn : {90, 270}) {
        SCOPED_TRACE(testing::Message() << "image turned " << turn << " degrees clockwise");
        const cv::Mat sideways = fp::rotate_clockwise(upright, turn);
        const std::vector<fp::Face> found = engine_->detect(sideways);
        ASSERT_FALSE(found.empty()) << "no face in the sideways image";
        const fp::Face& f = found[0];
        EXPECT_EQ(f.rotation, 360 - turn) << "rotation that makes the face upright";
        // The box is in the coordinates of the sideways image: the upright box turned with it.
        const cv::Rect2f expected_box = fp::box_to_rotated(reference[0].box, upright.size(), turn);
        EXPECT_GT(fp::intersection_over_union(f.box, expected_box), 0.6f) << f.box << " vs " << expected_box;
        EXPECT_TRUE((cv::Rect2f({0, 0}, cv::Size2f(sideways.size())) & f.box) == f.box) << "box outside the image";
        // Landmarks too: the eyes of the upright face, turned.
        for (int k : {0, 1, 2}) {
            const cv::Point2f expected = fp::to_rotated(reference[0].landmarks5[k], upright.size(), turn);
            EXPECT_LT(cv::norm(f.landmarks5[k] - expected), 0.1 * reference[0].box.width) << "point " << k;
        }
        const fp::Template t = engine_->embed(sideways, f);
        const double s = fp::similarity(t, upright_template);
        EXPECT_GT(s, 0.6);
        EXPECT_GT(fp::similarity(t, templates_[0]), 0.6);
    }
}

// A portrait of ~40 px eye-to-chin on a 1600x1000 scan of an ID card: too small for the 320x240
// network input on the whole image, found by the tiling fallback. Measured similarity to the photo's
// template: 0.96 .. 0.98 for the four faces; the bound leaves room for other platforms.
TEST_F(EngineTest, SmallFaceOnALargeCardIsFound) {
    const cv::Point placements[] = {{260, 380}, {1210, 90}, {640, 720}, {90, 90}};
    for (int i = 0; i < static_cast<int>(faces_.size()); ++i) {
        SCOPED_TRACE(testing::Message() << "face " << i);
        const fp::Face& face = faces_[i];
        const cv::Rect region = fptest::grow_box(face.box, 0.35, photo_.size());
        const double scale = 40.0 / eye_to_chin(face);
        cv::Mat small;
        cv::resize(photo_(region), small, {}, scale, scale, cv::INTER_AREA);

        // Light noisy background, a few lines of text, the portrait somewhere on the card.
        cv::Mat card = fptest::gradient_image(1600, 1000, true);
        for (int line = 0; line < 6; ++line)
            cv::putText(card, "SURNAME GIVEN NAMES 01.02.1990 X1234567", {500, 250 + 90 * line},
                        cv::FONT_HERSHEY_SIMPLEX, 1.2, cv::Scalar(60, 40, 30), 2, cv::LINE_AA);
        const cv::Point at = placements[i];
        small.copyTo(card(cv::Rect(at, small.size())));
        const cv::Rect2f expected(static_cast<float>((face.box.x - region.x) * scale + at.x),
                                  static_cast<float>((face.box.y - region.y) * scale + at.y),
                                  static_cast<float>(face.box.width * scale), static_cast<float>(face.box.height * scale));

        const fp::FaceContext a = engine_->analyze(card);
        const double s = fp::similarity(a.face_template(), templates_[i]);
        EXPECT_EQ(a.faces().size(), 1u);
        EXPECT_GT(fp::intersection_over_union(a.face().box, expected), 0.4f) << a.face().box << " vs " << expected;
        EXPECT_NEAR(eye_to_chin(a.face()), 40.0, 10.0);
        EXPECT_GT(s, 0.7);
        EXPECT_EQ(best_match(a.face_template()).first, i) << "similarity to its own face " << s;
    }
}

TEST_F(EngineTest, BlankImageHasNoFace) {
    for (const cv::Mat& blank : {cv::Mat(480, 640, CV_8UC3, cv::Scalar(200, 200, 200)),
                                 fptest::gradient_image(800, 600, true)}) {
        EXPECT_TRUE(engine_->detect(blank).empty());
        const std::string msg = expect_error_code(ErrorCode::no_face, [&] { engine_->analyze(blank); });
        EXPECT_FALSE(msg.empty());
    }
}

// A selfie the camera over- or under-exposed so far that no face is found: the error says why, so
// the person knows what to fix (not a bare "no face").
TEST_F(EngineTest, NoFaceSaysWhenTheImageIsTooBrightOrTooDark) {
    const cv::Mat selfie = fptest::crop(photo_, fptest::grow_box(faces_[0].box, 0.6, photo_.size()));
    ASSERT_NO_THROW(engine_->analyze(selfie));
    cv::Mat over_exposed, under_exposed;
    selfie.convertTo(over_exposed, -1, 0.15, 240);  // everything near white, as a blown-out webcam frame
    selfie.convertTo(under_exposed, -1, 0.03, 0);   // nearly black
    const std::string bright = expect_error_code(ErrorCode::no_face, [&] { engine_->analyze(over_exposed); });
    EXPECT_NE(bright.find("too bright"), std::string::npos) << bright;
    const std::string dark = expect_error_code(ErrorCode::no_face, [&] { engine_->analyze(under_exposed); });
    EXPECT_NE(dark.find("too dark"), std::string::npos) << dark;
    // A blank but well exposed image is only "no face".
    const std::string blank =
        expect_error_code(ErrorCode::no_face, [&] { engine_->analyze(fptest::gradient_image(800, 600, true)); });
    EXPECT_EQ(blank.find("too "), std::string::npos) << blank;
}

TEST_F(EngineTest, BadInputsAreInvalidArgument) {
    expect_error_code(ErrorCode::invalid_argument, [] { engine_->detect(cv::Mat()); });
    expect_error_code(ErrorCode::invalid_argument, [] { engine_->detect(cv::Mat(100, 100, CV_8UC1, cv::Scalar(0))); });
    fp::Face no_landmarks = faces_[0];
    no_landmarks.has_landmarks = false;
    expect_error_code(ErrorCode::invalid_argument, [&] { engine_->embed(photo_, no_landmarks); });
}

TEST_F(EngineTest, VerifyDecidesWithTheCalibrationThreshold) {
    const auto calibration = fp::Calibration::from_json(fptest::flat_calibration_json(engine_->template_model_id(), 0.3));
    const cv::Mat a = fptest::crop(photo_, fptest::grow_box(faces_[2].box, 0.5, photo_.size()));
    const cv::Mat b = fptest::crop(photo_, fptest::grow_box(faces_[3].box, 0.5, photo_.size()));
    const fp::VerifyResult different = fp::verify(*engine_, calibration, a, b, 1e-3);
    EXPECT_FALSE(different.match);
    EXPECT_DOUBLE_EQ(different.threshold, 0.3);
    EXPECT_DOUBLE_EQ(different.fmr, 1e-3);
    EXPECT_NEAR(different.similarity,
                fp::similarity(different.reference.face_template(), different.probe.face_template()), 1e-12);
    EXPECT_LT(different.similarity, 0.3);
    EXPECT_GE(different.reference.faces().size(), 1u);
    EXPECT_GE(different.probe.faces().size(), 1u);

    const fp::VerifyResult same = fp::verify(*engine_, calibration, a, fptest::degraded_copy(a));
    EXPECT_TRUE(same.match) << same.similarity;
    EXPECT_DOUBLE_EQ(same.fmr, fp::kDefaultFmr);
    EXPECT_GE(same.similarity, same.threshold);

    // Errors name the image they concern.
    const cv::Mat blank(300, 300, CV_8UC3, cv::Scalar(90, 90, 90));
    std::string msg = expect_error_code(ErrorCode::no_face, [&] { fp::verify(*engine_, calibration, blank, a); });
    EXPECT_NE(msg.find("reference"), std::string::npos) << msg;
    msg = expect_error_code(ErrorCode::no_face, [&] { fp::verify(*engine_, calibration, a, blank); });
    EXPECT_NE(msg.find("probe"), std::string::npos) << msg;
    // An FMR outside the calibration is the caller's mistake.
    expect_error_code(ErrorCode::invalid_argument, [&] { fp::verify(*engine_, calibration, a, b, 0.2); });
}

TEST_F(EngineTest, VerifyRefusesACalibrationForAnotherModel) {
    const auto other = fp::Calibration::from_json(fptest::flat_calibration_json("some-other-model/bgr", 0.3));
    const cv::Mat a = fptest::crop(photo_, fptest::grow_box(faces_[0].box, 0.5, photo_.size()));
    const std::string msg = expect_error_code(ErrorCode::calibration_invalid, [&] { fp::verify(*engine_, other, a, a); });
    EXPECT_NE(msg.find("some-other-model/bgr"), std::string::npos) << msg;
}

// The calibration compiled into the build (calibration/default.json) must be for the template model
// the default engine makes, or every verify() without an explicit calibration would be refused.
TEST_F(EngineTest, ShippedCalibrationFitsTheDefaultEngine) {
    const fp::Calibration* shipped = nullptr;
    try {
        shipped = &fp::Calibration::shipped();
    } catch (const fp::Error& e) {
        ASSERT_EQ(e.code(), ErrorCode::calibration_invalid) << e.what();
        GTEST_SKIP() << "this build ships no calibration (calibration/default.json absent at configure time)";
    }
    EXPECT_EQ(shipped->model_id(), engine_->template_model_id());
    const double t = shipped->threshold_for(fp::kDefaultFmr);
    EXPECT_GT(t, 0.15) << "implausibly low threshold for FMR 1e-4";
    EXPECT_LT(t, 0.7) << "implausibly high threshold for FMR 1e-4";
    const cv::Mat a = fptest::crop(photo_, fptest::grow_box(faces_[1].box, 0.5, photo_.size()));
    const cv::Mat b = fptest::crop(photo_, fptest::grow_box(faces_[2].box, 0.5, photo_.size()));
    EXPECT_TRUE(fp::verify(*engine_, *shipped, a, fptest::degraded_copy(a)).match);
    EXPECT_FALSE(fp::verify(*engine_, *shipped, a, b).match);
}

TEST_F(EngineTest, LfwDevTestFirstPairs) {
    const fptest::fs::path dir = fptest::lfw_dev_dir();
    const fptest::fs::path pairs_file = dir / "pairsDevTest.txt";
    if (!fptest::fs::is_regular_file(pairs_file))
        GTEST_SKIP() << "LFW dev set not found at " << dir << " (pairsDevTest.txt); this test needs ../shared/data/lfw-dev";
    const fp::LfwPairs parsed = fp::parse_lfw_pairs(pairs_file);
    std::vector<fp::LfwPair> chosen;
    int matched = 0, mismatched = 0;
    for (const auto& p : parsed.pairs) {
        if (p.same && matched < 50) chosen.push_back(p), ++matched;
        if (!p.same && mismatched < 50) chosen.push_back(p), ++mismatched;
    }
    ASSERT_EQ(chosen.size(), 100u);

    const auto calibration = fp::Calibration::from_json(fptest::flat_calibration_json(engine_->template_model_id(), 0.3));
    int correct = 0;
    std::vector<std::string> wrong;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& p : chosen) {
        const auto a = fp::lfw_image_path(dir, p.name_a, p.index_a), b = fp::lfw_image_path(dir, p.name_b, p.index_b);
        std::string outcome;
        try {
            const fp::VerifyResult r = fp::verify(*engine_, calibration, fp::load_image(a), fp::load_image(b), 1e-3);
            if (r.match == p.same) ++correct;
            else outcome = "similarity " + std::to_string(r.similarity);
        } catch (const fp::Error& e) {
            outcome = std::string(fp::to_string(e.code())) + ": " + e.what();
        }
        if (!outcome.empty())
            wrong.push_back(a.filename().string() + " vs " + b.filename().string() + (p.same ? " (same) " : " (different) ") + outcome);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    RecordProperty("lfw_correct", correct);
    RecordProperty("lfw_seconds", std::to_string(seconds));
    std::string listing;
    for (const auto& w : wrong) listing += "\n  " + w;
    EXPECT_GE(correct, 96) << "wrong decisions:" << listing;
}
