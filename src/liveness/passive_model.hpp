// fr_liveness (MiniFASNet-style passive presentation-attack detection): the face crop and the network.
//
// liveness_crop_rect(box, image_size, scale)
//   requires: box has a finite, positive width and height; image_size is not empty; scale > 0.
//   ensures:  the box scaled by `scale` about its centre, the scale first reduced so the crop fits
//             the image (as the reference alignLivenessImage does), then shifted to lie inside the
//             image; rounded to whole pixels; always a non-empty rectangle inside the image.
// PassiveModel::probabilities(face)
//   requires: face made by the Engine with a face (has_face()).
//   ensures:  softmax of the 3 outputs for the crop of the face's box in its upright frame (the
//             context's, turned once by the Engine), resized to 128x128, fed as planar 0-255 values
//             in the configured channel order.
// Thread safety: a PassiveModel is NOT reentrant (DNN network); one per thread.
#pragma once

#include <array>

#include <opencv2/core.hpp>

#include "faceproof/face_context.hpp"
#include "faceproof/models.hpp"
#include "faceproof/types.hpp"
#include "inference/network.hpp"

namespace faceproof {

constexpr double kLivenessCropScale = 2.7;
constexpr int kLivenessInputSide = 128;

cv::Rect liveness_crop_rect(const cv::Rect2f& box, cv::Size image_size, double scale = kLivenessCropScale);

struct PassiveOptions {
    bool rgb = false;    // false: B, G, R planes (measured default, see README "Liveness")
    int live_class = 0;  // output index of the live class (measured: 0)
};

class PassiveModel {
public:
    explicit PassiveModel(const ModelSet& models, const PassiveOptions& options = {});
    std::array<double, 3> probabilities(const FaceContext& face);
    // probabilities(...)[options.live_class]
    double live_probability(const FaceContext& face);
    // The 128x128 BGR crop the network sees (for tests and debugging).
    cv::Mat crop(const FaceContext& face) const;
    const PassiveOptions& options() const { return options_; }

private:
    std::unique_ptr<Network> net_;
    std::vector<cv::Mat> outputs_;
    PassiveOptions options_;
    cv::Mat input_;  // the network's own input buffer (Network::input_buffer)
};

}  // namespace faceproof
