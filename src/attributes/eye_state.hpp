// Eye state (fr_eye): the probability that each eye is open.
//
// EyeStateClassifier::classify
//   requires: bgr is 8-bit BGR; face.has_landmarks (68 points in bgr's coordinates, as
//             Engine::detect fills them, whatever face.rotation is).
//   ensures:  left_open / right_open in [0, 1] for the eye on the left / right as seen in the
//             upright face (points 36-41 / 42-47 of the 68).
//   throws:   Error{invalid_argument} without landmarks or with degenerate eye points,
//             Error{internal} when the network fails.
// Thread safety: one instance per thread (it owns a DNN network and its input blob).
#pragma once

#include <memory>

#include "faceproof/face_context.hpp"  // EyeState
#include "faceproof/models.hpp"
#include "faceproof/types.hpp"

namespace faceproof {

class EyeStateClassifier {
public:
    virtual ~EyeStateClassifier() = default;
    virtual EyeState classify(const cv::Mat& bgr, const Face& face) = 0;
    static std::unique_ptr<EyeStateClassifier> create(const ModelSet& models);
};

}  // namespace faceproof
