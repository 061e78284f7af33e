// fr_landmark: the face box (as detected, no margin) resized to 64x64 grey, x / 256;
// output 136 values, (x, y) pairs relative to the box.
#include "landmarks/landmarker.hpp"

#include <opencv2/imgproc.hpp>

#include "faceproof/error.hpp"
#include "inference/network.hpp"

namespace faceproof {
namespace {

constexpr int kSide = 64;

class OnnxLandmarker final : public Landmarker {
public:
    explicit OnnxLandmarker(const ModelSet& models)
        : net_(open_network(models, "fr_landmark")), input_(std::vector<int>{1, 1, kSide, kSide}, CV_32F) {}

    Points68 locate(const cv::Mat& upright, const cv::Rect2f& box) override {
        if (box.width <= 1 || box.height <= 1)
            throw Error(ErrorCode::invalid_argument, "landmarks: face box is empty");
        // An affine warp crops and scales in one step and pads boxes that touch the border.
        const float sx = kSide / box.width, sy = kSide / box.height;
        const cv::Matx23f to_crop(sx, 0, -box.x * sx, 0, sy, -box.y * sy);
        cv::Mat crop, grey;
        cv::warpAffine(upright, crop, to_crop, {kSide, kSide}, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
        cv::cvtColor(crop, grey, cv::COLOR_BGR2GRAY);
        grey.convertTo(cv::Mat(kSide, kSide, CV_32F, input_.ptr<float>()), CV_32F, 1.0 / 256.0);

        net_->run(input_, outputs_);
        const cv::Mat& out = outputs_[0];
        if (out.total() != 136) throw Error(ErrorCode::internal, "landmarks: unexpected output size");
        const float* v = out.ptr<float>();
        Points68 points;
        for (int i = 0; i < 68; ++i)
            points[i] = {box.x + v[2 * i] * box.width, box.y + v[2 * i + 1] * box.height};
        return points;
    }

private:
    std::unique_ptr<Network> net_;
    std::vector<cv::Mat> outputs_;
    cv::Mat input_;
};

cv::Point2f mean_of(const Points68& p, std::initializer_list<int> indices) {
    cv::Point2f sum(0, 0);
    for (int i : indices) sum += p[i];
    return sum / static_cast<float>(indices.size());
}

}  // namespace

Points5 five_points_from_68(const Points68& p) {
    return {mean_of(p, {37, 38, 40, 41}), mean_of(p, {43, 44, 46, 47}), p[30], mean_of(p, {48, 60}),
            mean_of(p, {54, 64})};
}

std::unique_ptr<Landmarker> Landmarker::create(const ModelSet& models) {
    return std::make_unique<OnnxLandmarker>(models);
}

}  // namespace faceproof
