// fr_liveness: face box x2.7 (fitted and shifted into the image), 128x128, planar 0-255, softmax.
#include "liveness/passive_model.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "faceproof/error.hpp"
#include "inference/network.hpp"

namespace faceproof {

cv::Rect liveness_crop_rect(const cv::Rect2f& box, cv::Size image_size, double scale) {
    if (image_size.width <= 0 || image_size.height <= 0)
        throw Error(ErrorCode::invalid_argument, "liveness crop: empty image");
    if (!(std::isfinite(box.x) && std::isfinite(box.y) && box.width > 0 && box.height > 0 &&
          std::isfinite(box.width) && std::isfinite(box.height)))
        throw Error(ErrorCode::invalid_argument, "liveness crop: face box is empty or not finite");
    if (!(scale > 0 && std::isfinite(scale))) throw Error(ErrorCode::invalid_argument, "liveness crop: bad scale");
    const double W = image_size.width, H = image_size.height;
    const double bw = box.width, bh = box.height;
    // Continuous coordinates (the image spans [0, W] x [0, H]): the scaled box fits exactly.
    const double s = std::min({scale, W / bw, H / bh});
    const double w = bw * s, h = bh * s;
    const double cx = box.x + bw / 2, cy = box.y + bh / 2;
    const double left = std::clamp(cx - w / 2, 0.0, W - w);
    const double top = std::clamp(cy - h / 2, 0.0, H - h);
    const int x0 = std::clamp(static_cast<int>(std::lround(left)), 0, image_size.width - 1);
    const int y0 = std::clamp(static_cast<int>(std::lround(top)), 0, image_size.height - 1);
    const int x1 = std::clamp(static_cast<int>(std::lround(left + w)), x0 + 1, image_size.width);
    const int y1 = std::clamp(static_cast<int>(std::lround(top + h)), y0 + 1, image_size.height);
    return {x0, y0, x1 - x0, y1 - y0};
}

PassiveModel::PassiveModel(const ModelSet& models, const PassiveOptions& options)
    : net_(open_network(models, "fr_liveness")), options_(options) {
    if (options.live_class < 0 || options.live_class > 2)
        throw Error(ErrorCode::invalid_argument, "liveness: live class must be 0, 1 or 2");
}

cv::Mat PassiveModel::crop(const FaceContext& face) const {
    if (!face.has_face()) throw Error(ErrorCode::invalid_argument, "liveness: no face");
    const cv::Mat& upright = face.upright();
    if (upright.empty() || upright.type() != CV_8UC3)
        throw Error(ErrorCode::invalid_argument, "liveness: expected a non-empty 8-bit BGR image");
    // The model was trained on upright faces: work in the frame the detector found the face in.
    const cv::Rect rect = liveness_crop_rect(face.upright_face().box, upright.size());
    cv::Mat resized;
    cv::resize(upright(rect), resized, cv::Size(kLivenessInputSide, kLivenessInputSide), 0, 0, cv::INTER_LINEAR);
    return resized;
}

std::array<double, 3> PassiveModel::probabilities(const FaceContext& face) {
    const cv::Mat crop128 = crop(face);
    constexpr int plane = kLivenessInputSide * kLivenessInputSide;
    input_ = net_->input_buffer({1, 3, kLivenessInputSide, kLivenessInputSide});
    float* base = input_.ptr<float>(0);
    float* first = base;  // B (or R with rgb)
    float* second = base + plane;
    float* third = base + 2 * plane;
    for (int y = 0; y < kLivenessInputSide; ++y) {
        const cv::Vec3b* row = crop128.ptr<cv::Vec3b>(y);
        for (int x = 0; x < kLivenessInputSide; ++x) {
            const int i = y * kLivenessInputSide + x;
            const cv::Vec3b& px = row[x];
            first[i] = options_.rgb ? px[2] : px[0];
            second[i] = px[1];
            third[i] = options_.rgb ? px[0] : px[2];
        }
    }
    net_->run(input_, outputs_);
    const cv::Mat& out = outputs_[0];
    if (out.total() != 3) throw Error(ErrorCode::internal, "liveness network: expected 3 outputs");
    const float* logits = out.ptr<float>();
    const double m = std::max({logits[0], logits[1], logits[2]});
    std::array<double, 3> p{};
    double sum = 0;
    for (int k = 0; k < 3; ++k) sum += p[k] = std::exp(static_cast<double>(logits[k]) - m);
    if (!(sum > 0) || !std::isfinite(sum)) throw Error(ErrorCode::internal, "liveness network: outputs not finite");
    for (double& v : p) v /= sum;
    return p;
}

double PassiveModel::live_probability(const FaceContext& face) { return probabilities(face)[options_.live_class]; }

}  // namespace faceproof
