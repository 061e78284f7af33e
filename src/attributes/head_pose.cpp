// fr_pose: 1x3x224x224, the face box enlarged by 1/4 of its size on every side (upright frame),
// resized (non-uniformly) to 224x224, RGB, ImageNet mean/std; three outputs of 66 bins of 3 degrees,
// degrees = E[bin index] under softmax * 3 - 99.
//
// Conventions, measured (not taken from the package's JavaScript, which they happen to agree with):
// - Output names: "output" = yaw, "617" = pitch, "618" = roll. On 200 LFW faces a horizontal
//   mirror flips the sign of "output" (mean |a + a'| = 3.1 deg) and of "618" (3.6 deg) and keeps
//   "617" (mean |a - a'| = 1.5 deg); rotating the image in-plane by 20 deg counter-clockwise moves
//   "618" by -19.3 deg on average and by +17.9 deg for 20 deg clockwise while "output" moves by
//   0.6 deg; the one profile face of the face-api samples (sample2.jpg, facing the image's left
//   edge) reads "output" = +72 deg.
// - Channel order RGB: on the same 200 faces RGB gives smaller mirror errors than BGR
//   (yaw 3.1 vs 3.7, pitch 1.5 vs 2.4, roll 3.6 vs 3.7 deg) and tracks the +-20 deg rotations
//   slightly better (18.6 vs 17.9 deg); the mean yaw of frontal LFW faces is -1.3 deg (RGB).
// - Pitch sign: on 39 LFW faces pitch correlates at -0.84 with the height of the nose tip between the eye
//   line and the mouth line (nose closer to the eyes = head tilted back), so pitch > 0 = looking up.
//   It has an offset with this crop: -7.7 deg on average (median -8.8) on LFW first images.
// - Yaw sign: > 0 when the face turns towards the image's left edge; roll > 0 = clockwise.
// - The crop is padded with black outside the image (as the training crops of 300W-LP were).
#include "attributes/head_pose.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "align/rotation.hpp"
#include "faceproof/error.hpp"
#include "inference/network.hpp"

namespace faceproof {
namespace {

constexpr int kSide = 224;
constexpr int kBins = 66;

// Expected bin index under the softmax of the logits, mapped to degrees.
double bins_to_degrees(const cv::Mat& logits) {
    if (logits.total() != kBins) throw Error(ErrorCode::internal, "head pose: unexpected output size");
    const float* v = logits.ptr<float>();
    const float top = *std::max_element(v, v + kBins);
    double sum = 0, weighted = 0;
    for (int i = 0; i < kBins; ++i) {
        const double w = std::exp(static_cast<double>(v[i] - top));
        sum += w;
        weighted += w * i;
    }
    return weighted / sum * 3.0 - 99.0;
}

class OnnxHeadPoseEstimator final : public HeadPoseEstimator {
public:
    explicit OnnxHeadPoseEstimator(const ModelSet& models)
        : net_(open_network(models, "fr_pose", {"output", "617", "618"})) {}  // yaw, pitch, roll

    HeadPose estimate(const cv::Mat& bgr, const Face& face) override {
        if (bgr.empty() || bgr.type() != CV_8UC3)
            throw Error(ErrorCode::invalid_argument, "head pose: expected a non-empty 8-bit BGR image");
        if (face.box.width <= 1 || face.box.height <= 1)
            throw Error(ErrorCode::invalid_argument, "head pose: face box is empty");
        const cv::Mat upright = rotate_clockwise(bgr, face.rotation);
        input_ = net_->input_buffer({1, 3, kSide, kSide});
        fill(upright, box_to_rotated(face.box, bgr.size(), face.rotation));
        std::vector<cv::Mat> outputs;
        net_->run(input_, outputs);
        if (outputs.size() != 3) throw Error(ErrorCode::internal, "head pose: expected three outputs");
        return {bins_to_degrees(outputs[0]), bins_to_degrees(outputs[1]), bins_to_degrees(outputs[2])};
    }

private:
    // Crop (affine warp: pads faces at the border), RGB planes, ImageNet normalisation.
    void fill(const cv::Mat& upright, const cv::Rect2f& box) {
        const cv::Rect2f crop_box(box.x - box.width / 4, box.y - box.height / 4, box.width * 1.5f, box.height * 1.5f);
        const float sx = kSide / crop_box.width, sy = kSide / crop_box.height;
        const cv::Matx23f to_crop(sx, 0, -crop_box.x * sx, 0, sy, -crop_box.y * sy);
        cv::warpAffine(upright, crop_, to_crop, {kSide, kSide}, cv::INTER_LINEAR, cv::BORDER_CONSTANT,
                       cv::Scalar::all(0));
        static constexpr float kMean[3] = {0.485f, 0.456f, 0.406f};  // R, G, B
        static constexpr float kStd[3] = {0.229f, 0.224f, 0.225f};
        const int plane = kSide * kSide;
        float* r = input_.ptr<float>();
        float* g = r + plane;
        float* b = g + plane;
        for (int y = 0; y < kSide; ++y) {
            const cv::Vec3b* row = crop_.ptr<cv::Vec3b>(y);
            for (int x = 0; x < kSide; ++x) {
                const int i = y * kSide + x;
                r[i] = (row[x][2] / 255.f - kMean[0]) / kStd[0];
                g[i] = (row[x][1] / 255.f - kMean[1]) / kStd[1];
                b[i] = (row[x][0] / 255.f - kMean[2]) / kStd[2];
            }
        }
    }

    std::unique_ptr<Network> net_;
    cv::Mat input_;  // the network's own input buffer (Network::input_buffer)
    cv::Mat crop_;
};

}  // namespace

std::unique_ptr<HeadPoseEstimator> HeadPoseEstimator::create(const ModelSet& models) {
    return std::make_unique<OnnxHeadPoseEstimator>(models);
}

}  // namespace faceproof
