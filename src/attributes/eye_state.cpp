// fr_eye: 1x1x24x24 grey, x / 255; two logits, softmax. Class 1 = open, class 0 = closed (measured).
//
// Crop: a square centred on the eye (mean of the eyelid points 37,38,40,41 / 43,44,46,47) with a
// side of 1.6 x the eye width (corner to corner, 36-39 / 42-45), as the package's JavaScript does,
// but taken with one affine warp whose x axis follows the line between the two eye centres. That
// makes the crop upright for faces found after a quarter-turn (face.rotation) and for tilted heads
// alike, without rotating the image, and pads eyes at the border (replicated edge). The square is
// sampled at up to 144x144 and reduced to 24x24 with area averaging (no aliasing on large faces).
//
// Measured class meaning: on the face-api samples, eyes looking down or closed (sample1 face 0,
// sample2 face 1) read class 0 at 0.99-1.0 and open eyes read class 1 at > 0.99; a crop of skin
// 1.2 eye widths below the eye reads class 0 on 514 of 518 LFW eyes; LFW photos with really closed
// eyes (Park_Jung_Sung_0001, Manuel_Pellegrini_0001, Michael_Patrick_King_0001,
// Benedita_da_Silva_0001, Jean_Chretien_0022) read class 0 on 10 of 10 eyes. So class 0 means
// "no open eye visible" and class 1 "open eye". Caveat: 78 of 518 (15 %) open LFW eyes read
// class 0 > 0.5 — single-eye readings are noisy; the quality measure combines both eyes.
// Crop side 1.4 / 1.8 / 2.0 x eye width and histogram equalisation were tried and were not better.
#include "attributes/eye_state.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "faceproof/error.hpp"
#include "inference/network.hpp"

namespace faceproof {
namespace {

constexpr int kSide = 24;
constexpr int kMaxSample = 144;
constexpr double kCropScale = 1.6;
constexpr int kOpenClass = 1;

cv::Point2f mean_of(const Points68& p, std::initializer_list<int> indices) {
    cv::Point2f sum(0, 0);
    for (int i : indices) sum += p[i];
    return sum / static_cast<float>(indices.size());
}

class OnnxEyeStateClassifier final : public EyeStateClassifier {
public:
    explicit OnnxEyeStateClassifier(const ModelSet& models)
        : net_(open_network(models, "fr_eye")), input_(std::vector<int>{1, 1, kSide, kSide}, CV_32F) {}

    EyeState classify(const cv::Mat& bgr, const Face& face) override {
        if (bgr.empty() || bgr.type() != CV_8UC3)
            throw Error(ErrorCode::invalid_argument, "eye state: expected a non-empty 8-bit BGR image");
        if (!face.has_landmarks) throw Error(ErrorCode::invalid_argument, "eye state: face has no landmarks");
        const Points68& p = face.landmarks68;
        const cv::Point2f left = mean_of(p, {37, 38, 40, 41}), right = mean_of(p, {43, 44, 46, 47});
        const cv::Point2f across = right - left;
        const double distance = cv::norm(across);
        if (!(distance > 1e-3)) throw Error(ErrorCode::invalid_argument, "eye state: degenerate eye landmarks");
        const cv::Point2f axis = across / static_cast<float>(distance);
        return {open_probability(bgr, left, cv::norm(p[39] - p[36]), axis),
                open_probability(bgr, right, cv::norm(p[45] - p[42]), axis)};
    }

private:
    double open_probability(const cv::Mat& bgr, cv::Point2f centre, double eye_width, cv::Point2f axis) {
        if (!(eye_width > 1e-3)) throw Error(ErrorCode::invalid_argument, "eye state: degenerate eye landmarks");
        const double side = kCropScale * eye_width;
        const int sample = std::clamp(static_cast<int>(std::lround(side)), kSide, kMaxSample);
        const double k = side / sample;  // image pixels per sample pixel
        const cv::Point2d x_axis(axis.x * k, axis.y * k), y_axis(-axis.y * k, axis.x * k);
        const cv::Point2d origin = cv::Point2d(centre) - (x_axis + y_axis) * (sample / 2.0);
        // Maps a sample pixel (u, v) to the image: origin + u * x_axis + v * y_axis.
        const cv::Matx23d to_image(x_axis.x, y_axis.x, origin.x, x_axis.y, y_axis.y, origin.y);
        cv::warpAffine(bgr, sample_, to_image, {sample, sample}, cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                       cv::BORDER_REPLICATE);
        cv::cvtColor(sample_, grey_, cv::COLOR_BGR2GRAY);
        cv::resize(grey_, small_, {kSide, kSide}, 0, 0, cv::INTER_AREA);
        small_.convertTo(cv::Mat(kSide, kSide, CV_32F, input_.ptr<float>()), CV_32F, 1.0 / 255.0);

        net_->run(input_, outputs_);
        const cv::Mat& out = outputs_[0];
        if (out.total() != 2) throw Error(ErrorCode::internal, "eye state: unexpected output size");
        const float* v = out.ptr<float>();
        const double top = std::max(v[0], v[1]);
        const double e0 = std::exp(v[0] - top), e1 = std::exp(v[1] - top);
        return (kOpenClass == 1 ? e1 : e0) / (e0 + e1);
    }

    std::unique_ptr<Network> net_;
    std::vector<cv::Mat> outputs_;
    cv::Mat input_;
    cv::Mat sample_, grey_, small_;
};

}  // namespace

std::unique_ptr<EyeStateClassifier> EyeStateClassifier::create(const ModelSet& models) {
    return std::make_unique<OnnxEyeStateClassifier>(models);
}

}  // namespace faceproof
