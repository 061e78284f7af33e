#include "quality/quality_context.hpp"

#include <cstdint>
#include <exception>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "align/aligner.hpp"
#include "detect/rotation.hpp"

namespace faceproof {
namespace {

// Runs f, turning any exception into a failure text.
template <class T, class F>
Attribute<T> attempt(F&& f) {
    Attribute<T> result;
    try {
        result.value = f();
    } catch (const std::exception& e) {
        result.failure = e.what();
    }
    return result;
}

}  // namespace

QualityContext::QualityContext(const cv::Mat& bgr, const std::vector<Face>& faces, HeadPoseEstimator& pose,
                               EyeStateClassifier& eyes)
    : image_(bgr), faces_(faces), pose_estimator_(pose), eye_classifier_(eyes) {
    const Face* face = primary();
    if (!face) {
        alignment_failure_ = "no face";
        return;
    }
    // Faces found after a quarter turn: the upright frame is the image turned once (as the engine does).
    upright_ = rotate_clockwise(image_, face->rotation);
    upright_face_ = *face;
    upright_face_.rotation = 0;
    upright_face_.box = box_to_rotated(face->box, image_.size(), face->rotation);
    if (face->has_landmarks) {
        for (auto& p : upright_face_.landmarks68) p = to_rotated(p, image_.size(), face->rotation);
        for (auto& p : upright_face_.landmarks5) p = to_rotated(p, image_.size(), face->rotation);
        try {
            align();
        } catch (const std::exception& e) {
            aligned_.release();
            alignment_failure_ = std::string("alignment failed: ") + e.what();
        }
    } else {
        alignment_failure_ = "the face has no landmarks";
    }
}

// The aligned crop (align_face) and, with the same transform, the face outline and the part of the
// crop that lies inside the image (the crop is padded with black outside it).
void QualityContext::align() {
    const Face& face = faces_.front();
    aligned_ = align_face(image_, face.landmarks5, kAlignedSide);
    cv::cvtColor(aligned_, aligned_grey_, cv::COLOR_BGR2GRAY);
    const cv::Matx23d m = similarity_transform(face.landmarks5.data(), arcface_template_112().data(), 5);

    // Jaw 0..16, then the brows 26..17: a closed outline of the face below the forehead.
    std::vector<cv::Point> outline;
    auto add = [&](int i) {
        const cv::Point2f p = face.landmarks68[i];
        outline.emplace_back(cvRound(m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2)),
                             cvRound(m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)));
    };
    for (int i = 0; i <= 16; ++i) add(i);
    for (int i = 26; i >= 17; --i) add(i);
    face_mask_ = cv::Mat::zeros(kAlignedSide, kAlignedSide, CV_8U);
    cv::fillPoly(face_mask_, std::vector<std::vector<cv::Point>>{outline}, cv::Scalar(255));

    // Crop pixels whose source lies inside the image, shrunk by 2 px so that the edge of the black
    // padding never counts as face detail.
    cv::Matx23d to_image;
    cv::invertAffineTransform(m, to_image);
    cv::Mat inside(kAlignedSide, kAlignedSide, CV_8U);
    for (int y = 0; y < kAlignedSide; ++y) {
        auto* row = inside.ptr<std::uint8_t>(y);
        for (int x = 0; x < kAlignedSide; ++x) {
            const double sx = to_image(0, 0) * x + to_image(0, 1) * y + to_image(0, 2);
            const double sy = to_image(1, 0) * x + to_image(1, 1) * y + to_image(1, 2);
            row[x] = (sx >= 0 && sy >= 0 && sx <= image_.cols - 1 && sy <= image_.rows - 1) ? 255 : 0;
        }
    }
    cv::erode(inside, inside, cv::Mat(), cv::Point(-1, -1), 2, cv::BORDER_CONSTANT, cv::Scalar(255));
    face_mask_ &= inside;
    if (cv::countNonZero(face_mask_) < kAlignedSide * kAlignedSide / 20)
        throw std::runtime_error("the face region inside the image is too small to assess");
}

const Attribute<HeadPose>& QualityContext::head_pose() const {
    if (!pose_) {
        if (!primary())
            pose_ = Attribute<HeadPose>{std::nullopt, "no face"};
        else
            pose_ = attempt<HeadPose>([&] { return pose_estimator_.estimate(upright_, upright_face_); });
    }
    return *pose_;
}

const Attribute<EyeState>& QualityContext::eye_state() const {
    if (!eyes_) {
        if (!primary())
            eyes_ = Attribute<EyeState>{std::nullopt, "no face"};
        else if (!primary()->has_landmarks)
            eyes_ = Attribute<EyeState>{std::nullopt, "the face has no landmarks"};
        else
            eyes_ = attempt<EyeState>([&] { return eye_classifier_.classify(upright_, upright_face_); });
    }
    return *eyes_;
}

}  // namespace faceproof
