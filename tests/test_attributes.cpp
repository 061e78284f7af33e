// Tests of the face attribute networks on real photos: head pose (fr_pose) and eye state (fr_eye).
// The conventions they check are the measured ones documented in src/attributes/*.cpp: a mirror
// flips yaw and roll and keeps pitch, an in-plane rotation moves roll, a face turned towards the
// image's left edge has a large positive yaw, class "open" is high on open eyes and low on closed
// ones and on skin. One engine, estimator and classifier for the whole suite.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "attributes/eye_state.hpp"
#include "attributes/head_pose.hpp"
#include "align/rotation.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"
#include "faceproof/image.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using fptest::expect_error_code;

namespace {

class AttributesTest : public fptest::ModelTest<AttributesTest> {
public:
    static void set_up_suite() {
        engine_ = &fptest::shared_engine();
        pose_ = fp::HeadPoseEstimator::create(*fptest::shared_models());
        eyes_ = fp::EyeStateClassifier::create(*fptest::shared_models());
    }
    static void TearDownTestSuite() {
        pose_.reset();
        eyes_.reset();
        samples_.clear();
    }

protected:
    // The primary face of image (fails the test when there is none).
    static fp::Face primary_face(const cv::Mat& image) {
        const auto faces = engine_->detect(image);
        if (faces.empty()) throw std::runtime_error("no face found");
        return faces.front();
    }

    // A sample photo and its faces, detected once per suite.
    static const std::pair<cv::Mat, std::vector<fp::Face>>& sample(int n) {
        auto it = samples_.find(n);
        if (it == samples_.end()) {
            cv::Mat photo = fptest::load_sample(n);
            auto faces = engine_->detect(photo);
            it = samples_.emplace(n, std::make_pair(photo, std::move(faces))).first;
        }
        return it->second;
    }

    // A crop of a sample photo around its face number `index` (as detect orders them), with margin.
    static cv::Mat sample_face_crop(int n, int index, double margin = 0.6) {
        const auto& [photo, faces] = sample(n);
        if (static_cast<int>(faces.size()) <= index) throw std::runtime_error("sample face missing");
        return fptest::crop(photo, fptest::grow_box(faces[index].box, margin, photo.size()));
    }

    static std::filesystem::path lfw_image(const std::string& name, int number) {
        char file[256];
        std::snprintf(file, sizeof file, "%s_%04d.jpg", name.c_str(), number);
        return fptest::lfw_dev_dir() / name / file;
    }

    static inline fp::Engine* engine_ = nullptr;
    static inline std::unique_ptr<fp::HeadPoseEstimator> pose_;
    static inline std::unique_ptr<fp::EyeStateClassifier> eyes_;
    static inline std::map<int, std::pair<cv::Mat, std::vector<fp::Face>>> samples_;
};

}  // namespace

// --- head pose -----------------------------------------------------------------------------------

TEST_F(AttributesTest, ProfileFaceHasLargePositiveYaw) {
    // sample2.jpg: the woman on the left is seen in profile, facing the image's left edge.
    const auto& [photo, faces] = sample(2);
    ASSERT_GE(faces.size(), 3u);
    int profile = -1;
    for (int i = 0; i < static_cast<int>(faces.size()); ++i)
        if (faces[i].box.x < 600) profile = i;
    ASSERT_GE(profile, 0) << "the profile face (left part of sample2) was not detected";
    const fp::HeadPose pose = pose_->estimate(photo, faces[profile]);
    EXPECT_GT(pose.yaw_deg, 45) << "pitch " << pose.pitch_deg << " roll " << pose.roll_deg;
    EXPECT_LT(std::abs(pose.roll_deg), 30);
}

TEST_F(AttributesTest, MirrorFlipsYawAndRollAndKeepsPitch) {
    // sample5.jpg has faces turned both ways; every face must mirror consistently.
    const auto& [photo, faces] = sample(5);
    cv::Mat mirrored;
    cv::flip(photo, mirrored, 1);
    ASSERT_GE(faces.size(), 4u);
    double largest_yaw = 0;
    for (const fp::Face& f : faces) {
        fp::Face m = f;
        m.box.x = photo.cols - f.box.x - f.box.width;
        const fp::HeadPose a = pose_->estimate(photo, f), b = pose_->estimate(mirrored, m);
        SCOPED_TRACE("face at x=" + std::to_string(static_cast<int>(f.box.x)));
        EXPECT_NEAR(a.yaw_deg, -b.yaw_deg, 8.0);
        EXPECT_NEAR(a.roll_deg, -b.roll_deg, 8.0);
        EXPECT_NEAR(a.pitch_deg, b.pitch_deg, 7.0);
        largest_yaw = std::max(largest_yaw, std::abs(a.yaw_deg));
    }
    EXPECT_GT(largest_yaw, 25) << "the test needs a turned face to be meaningful";
}

TEST_F(AttributesTest, InPlaneRotationMovesRoll) {
    const cv::Mat face = sample_face_crop(6, 0, 0.8);
    const fp::HeadPose upright = pose_->estimate(face, primary_face(face));
    // rotate_by turns counter-clockwise for positive angles: roll goes down by about the angle.
    const fp::HeadPose ccw = pose_->estimate(fptest::rotate_by(face, 20), primary_face(fptest::rotate_by(face, 20)));
    const fp::HeadPose cw = pose_->estimate(fptest::rotate_by(face, -20), primary_face(fptest::rotate_by(face, -20)));
    EXPECT_NEAR(ccw.roll_deg - upright.roll_deg, -20, 7);
    EXPECT_NEAR(cw.roll_deg - upright.roll_deg, 20, 7);
    EXPECT_NEAR(ccw.yaw_deg, upright.yaw_deg, 8);
    EXPECT_NEAR(cw.yaw_deg, upright.yaw_deg, 8);
}

TEST_F(AttributesTest, FaceFoundAfterAQuarterTurnIsEstimatedUpright) {
    // A sideways copy with the face described as Engine::detect would after rotating it 90° clockwise.
    const cv::Mat upright = sample_face_crop(6, 1, 0.8);
    const fp::Face face = primary_face(upright);
    cv::Mat sideways;
    cv::rotate(upright, sideways, cv::ROTATE_90_COUNTERCLOCKWISE);
    fp::Face turned = face;
    turned.rotation = 90;
    turned.box = fp::box_from_rotated(face.box, sideways.size(), 90);
    for (auto& p : turned.landmarks68) p = fp::from_rotated(p, sideways.size(), 90);
    for (auto& p : turned.landmarks5) p = fp::from_rotated(p, sideways.size(), 90);

    const fp::HeadPose a = pose_->estimate(upright, face), b = pose_->estimate(sideways, turned);
    EXPECT_NEAR(a.yaw_deg, b.yaw_deg, 1.0);
    EXPECT_NEAR(a.pitch_deg, b.pitch_deg, 1.0);
    EXPECT_NEAR(a.roll_deg, b.roll_deg, 1.0);
    const fp::EyeState e = eyes_->classify(upright, face), f = eyes_->classify(sideways, turned);
    EXPECT_NEAR(e.left_open, f.left_open, 0.05);
    EXPECT_NEAR(e.right_open, f.right_open, 0.05);
}

TEST_F(AttributesTest, FrontalLfwFacesHaveSmallYawOnAverage) {
    if (!std::filesystem::is_directory(fptest::lfw_dev_dir())) GTEST_SKIP() << "LFW not at " << fptest::lfw_dev_dir();
    // The first people in name order (mostly near-frontal press photos): yaw averages out near 0.
    std::vector<std::filesystem::path> people;
    for (const auto& entry : std::filesystem::directory_iterator(fptest::lfw_dev_dir()))
        if (entry.is_directory()) people.push_back(entry.path());
    std::sort(people.begin(), people.end());
    double sum = 0, abs_sum = 0;
    int n = 0;
    for (const auto& dir : people) {
        if (n == 16) break;
        const auto path = lfw_image(dir.filename().string(), 1);
        if (!std::filesystem::exists(path)) continue;
        const cv::Mat image = fp::load_image(path);
        const auto faces = engine_->detect(image);
        if (faces.empty()) continue;
        const double yaw = pose_->estimate(image, faces.front()).yaw_deg;
        sum += yaw;
        abs_sum += std::abs(yaw);
        ++n;
    }
    ASSERT_GE(n, 10);
    EXPECT_LT(std::abs(sum / n), 8);
    EXPECT_LT(abs_sum / n, 18);
}

TEST_F(AttributesTest, EmptyBoxIsInvalidArgument) {
    const cv::Mat image(100, 100, CV_8UC3, cv::Scalar::all(128));
    fp::Face face;
    face.box = {10, 10, 0, 0};
    expect_error_code(fp::ErrorCode::invalid_argument, [&] { pose_->estimate(image, face); });
}

// --- eye state -----------------------------------------------------------------------------------

TEST_F(AttributesTest, OpenEyesReadOpen) {
    // sample6.jpg: four women looking at the camera with open eyes.
    const auto& [photo, faces] = sample(6);
    ASSERT_EQ(faces.size(), 4u);
    for (const fp::Face& f : faces) {
        const fp::EyeState e = eyes_->classify(photo, f);
        SCOPED_TRACE("face at x=" + std::to_string(static_cast<int>(f.box.x)));
        EXPECT_GT(std::max(e.left_open, e.right_open), 0.8);
        EXPECT_GT(e.left_open + e.right_open, 1.0);
    }
}

TEST_F(AttributesTest, SkinBelowTheEyesReadsNotOpen) {
    // Move the eye landmarks down by 1.2 eye widths: the crops then show the cheeks.
    const auto& [photo, faces] = sample(6);
    ASSERT_FALSE(faces.empty());
    for (const fp::Face& f : faces) {
        fp::Face moved = f;
        const float drop = 1.2f * static_cast<float>(cv::norm(f.landmarks68[39] - f.landmarks68[36]));
        for (int i = 36; i < 48; ++i) moved.landmarks68[i].y += drop;
        const fp::EyeState e = eyes_->classify(photo, moved);
        EXPECT_LT(e.left_open, 0.5);
        EXPECT_LT(e.right_open, 0.5);
    }
}

TEST_F(AttributesTest, ClosedEyesInLfwReadClosed) {
    if (!std::filesystem::is_directory(fptest::lfw_dev_dir())) GTEST_SKIP() << "LFW not at " << fptest::lfw_dev_dir();
    // Looked at: both eyes shut in these photos.
    for (const char* name : {"Park_Jung_Sung", "Manuel_Pellegrini", "Michael_Patrick_King"}) {
        const auto path = lfw_image(name, 1);
        if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
        const cv::Mat image = fp::load_image(path);
        const fp::EyeState e = eyes_->classify(image, primary_face(image));
        SCOPED_TRACE(name);
        EXPECT_LT(std::max(e.left_open, e.right_open), 0.3);
    }
}

TEST_F(AttributesTest, EyeStateNeedsLandmarks) {
    const cv::Mat image(100, 100, CV_8UC3, cv::Scalar::all(128));
    fp::Face face;
    face.box = {20, 20, 50, 50};
    expect_error_code(fp::ErrorCode::invalid_argument, [&] { eyes_->classify(image, face); });
}

TEST_F(AttributesTest, EyeAtTheImageBorderIsPadded) {
    // Cut the image through the left eye: the crop is padded, no exception, a probability comes back.
    const cv::Mat face_crop = sample_face_crop(6, 2, 0.8);
    const fp::Face face = primary_face(face_crop);
    const int cut = static_cast<int>(face.landmarks68[37].x);
    ASSERT_GT(cut, 0);
    const cv::Mat cut_image = fptest::crop(face_crop, cv::Rect(cut, 0, face_crop.cols - cut, face_crop.rows));
    fp::Face shifted = face;
    for (auto& p : shifted.landmarks68) p.x -= static_cast<float>(cut);
    const fp::EyeState e = eyes_->classify(cut_image, shifted);
    EXPECT_GE(e.left_open, 0.0);
    EXPECT_LE(e.left_open, 1.0);
    EXPECT_GT(e.right_open, 0.5);
}
