// Head pose (fr_pose, Hopenet-style): yaw, pitch and roll of a detected face, in degrees.
//
// HeadPoseEstimator::estimate
//   requires: bgr is 8-bit BGR; face.box (and face.rotation) as Engine::detect returns them.
//   ensures:  the pose of the face in its upright frame (the image rotated clockwise by
//             face.rotation), with the measured conventions:
//               yaw   > 0 when the face turns towards the image's left edge (subject's right),
//               pitch > 0 when the face looks up (chin raised); LFW faces read about -8 deg
//                     on average, so the model (with this crop) leans towards "down",
//               roll  > 0 when the face is rotated clockwise in the image;
//             each in about [-99, 99]. Landmarks are not used.
//   throws:   Error{invalid_argument} for an empty box, Error{internal} when the network fails.
// Thread safety: one instance per thread (it owns a DNN network and its input blob).
#pragma once

#include <memory>

#include "faceproof/face_context.hpp"  // HeadPose
#include "faceproof/models.hpp"
#include "faceproof/types.hpp"

namespace faceproof {

class HeadPoseEstimator {
public:
    virtual ~HeadPoseEstimator() = default;
    virtual HeadPose estimate(const cv::Mat& bgr, const Face& face) = 0;
    static std::unique_ptr<HeadPoseEstimator> create(const ModelSet& models);
};

}  // namespace faceproof
