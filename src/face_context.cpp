// FaceContext: the upright frame made once, attributes on first use (see the header's contract).
#include "faceproof/face_context.hpp"

#include <exception>

#include "align/rotation.hpp"

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

FaceContext::FaceContext(cv::Mat image, std::vector<Face> faces, AttributeEstimators* estimators)
    : image_(std::move(image)), faces_(std::move(faces)), estimators_(estimators) {
    if (faces_.empty()) {
        alignment_failure_ = "no face";
        return;
    }
    // Faces found after a quarter turn: the upright frame is the image turned once.
    const Face& face = faces_.front();
    upright_ = rotate_clockwise(image_, face.rotation);  // the image itself when upright
    upright_face_ = face;
    if (face.rotation != 0) {
        upright_face_.rotation = 0;
        upright_face_.box = box_to_rotated(face.box, image_.size(), face.rotation);
        for (auto& p : upright_face_.landmarks68) p = to_rotated(p, image_.size(), face.rotation);
        for (auto& p : upright_face_.landmarks5) p = to_rotated(p, image_.size(), face.rotation);
    }
    if (!face.has_landmarks) {
        alignment_failure_ = "the face has no landmarks";
    }
}

const Attribute<HeadPose>& FaceContext::head_pose() const {
    if (!cache_->pose) {
        if (!has_face() || !estimators_)
            cache_->pose = Attribute<HeadPose>{std::nullopt, has_face() ? "no pose network" : "no face"};
        else
            cache_->pose = attempt<HeadPose>([&] { return estimators_->head_pose(upright_, upright_face_); });
    }
    return *cache_->pose;
}

const Attribute<EyeState>& FaceContext::eye_state() const {
    if (!cache_->eyes) {
        if (!has_face() || !estimators_)
            cache_->eyes = Attribute<EyeState>{std::nullopt, has_face() ? "no eye network" : "no face"};
        else if (!face().has_landmarks)
            cache_->eyes = Attribute<EyeState>{std::nullopt, "the face has no landmarks"};
        else
            cache_->eyes = attempt<EyeState>([&] { return estimators_->eye_state(upright_, upright_face_); });
    }
    return *cache_->eyes;
}

}  // namespace faceproof
