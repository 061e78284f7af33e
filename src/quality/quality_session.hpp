// One quality assessment's session (as OFIQ's): the face's context, read by every measure, and what
// only the measures need from it, computed once per assessment.
//
// QualitySession(face)
//   requires: face made by the Engine (may have no face); it outlives the session.
//   ensures:  primary() is the analysed face (nullptr when there is none); aligned() is the
//             Engine's own 112x112 crop (nothing is aligned again), aligned_grey() its luminance
//             and face_mask() the face region in it (inside the jaw-and-brow outline of the 68
//             landmarks and inside the image); when there is no crop, or too little of the face is
//             inside the image, aligned_ok() is false and alignment_failure() says why.
//   head_pose() / eye_state(): the face's attributes (computed by the context on first use).
// Thread safety: none; one session per assessment.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceproof/face_context.hpp"

namespace faceproof {

class QualitySession {
public:
    static constexpr int kAlignedSide = FaceContext::kAlignedSide;

    explicit QualitySession(const FaceContext& face);

    const cv::Mat& image() const { return face_.image(); }
    const std::vector<Face>& faces() const { return face_.faces(); }
    const Face* primary() const { return face_.has_face() ? &face_.face() : nullptr; }

    bool aligned_ok() const { return !aligned_grey_.empty(); }
    const std::string& alignment_failure() const { return alignment_failure_; }
    const cv::Mat& aligned() const { return face_.aligned(); }
    const cv::Mat& aligned_grey() const { return aligned_grey_; }
    const cv::Mat& face_mask() const { return face_mask_; }

    const Attribute<HeadPose>& head_pose() const { return face_.head_pose(); }
    const Attribute<EyeState>& eye_state() const { return face_.eye_state(); }

private:
    void measure_region();

    const FaceContext& face_;
    cv::Mat aligned_grey_, face_mask_;
    std::string alignment_failure_;
};

}  // namespace faceproof
