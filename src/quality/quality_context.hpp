// The per-image inputs of the quality measures, computed once per assess() call.
//
// QualityContext(bgr, faces, pose, eyes)
//   requires: bgr 8-bit BGR; faces as Engine::detect returns them (primary first), may be empty;
//             pose and eyes outlive the context.
//   ensures:  primary() is faces[0] (nullptr when there is none); upright()/upright_face() are the
//             image and the primary face turned by face.rotation (the face's own frame, rotation 0);
//             when the primary face has landmarks, aligned() is its 112x112 ArcFace crop
//             (align_face), aligned_grey() its luminance and face_mask() the face region in it
//             (inside the jaw-and-brow outline of the 68 landmarks and inside the image);
//             otherwise alignment_failure() says why these are empty.
//   head_pose() / eye_state(): run the network on first use and keep the result, or the reason it
//             could not be computed (Attribute::failure) — never throw.
// Thread safety: none (lazy caches); one context per assessment.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "attributes/eye_state.hpp"
#include "attributes/head_pose.hpp"
#include "faceproof/types.hpp"

namespace faceproof {

template <class T>
struct Attribute {
    std::optional<T> value;
    std::string failure;  // set when value is empty
};

class QualityContext {
public:
    static constexpr int kAlignedSide = 112;

    QualityContext(const cv::Mat& bgr, const std::vector<Face>& faces, HeadPoseEstimator& pose,
                   EyeStateClassifier& eyes);

    const cv::Mat& image() const { return image_; }
    const std::vector<Face>& faces() const { return faces_; }
    const Face* primary() const { return faces_.empty() ? nullptr : &faces_.front(); }

    const cv::Mat& upright() const { return upright_; }
    const Face& upright_face() const { return upright_face_; }

    bool aligned_ok() const { return !aligned_.empty(); }
    const std::string& alignment_failure() const { return alignment_failure_; }
    const cv::Mat& aligned() const { return aligned_; }
    const cv::Mat& aligned_grey() const { return aligned_grey_; }
    const cv::Mat& face_mask() const { return face_mask_; }

    const Attribute<HeadPose>& head_pose() const;
    const Attribute<EyeState>& eye_state() const;

private:
    void align();

    cv::Mat image_;
    const std::vector<Face>& faces_;
    cv::Mat upright_;
    Face upright_face_;
    cv::Mat aligned_, aligned_grey_, face_mask_;
    std::string alignment_failure_;

    HeadPoseEstimator& pose_estimator_;
    EyeStateClassifier& eye_classifier_;
    mutable std::optional<Attribute<HeadPose>> pose_;
    mutable std::optional<Attribute<EyeState>> eyes_;
};

}  // namespace faceproof
