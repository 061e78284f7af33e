// RFB-320 face detector (fr_detect) with the fallbacks ID images need.
//
// The exported network already decodes its priors: outputs are "boxes" (N x 4 corner boxes in
// [0,1] of the 320x240 input) and "scores" (N x 2, background/face). Preprocessing lives here
// and nowhere else: RGB, (x - 127) / 128, 320x240.
#include "detect/face_detector.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <opencv2/imgproc.hpp>

#include "align/rotation.hpp"
#include "faceproof/error.hpp"
#include "inference/network.hpp"

namespace faceproof {

float intersection_over_union(const cv::Rect2f& a, const cv::Rect2f& b) {
    const float inter = (a & b).area();
    const float uni = a.area() + b.area() - inter;
    return uni > 0 ? inter / uni : 0.f;
}

cv::Rect2f clip_box(const cv::Rect2f& box, const cv::Size& size) {
    const float x1 = std::clamp(box.x, 0.f, static_cast<float>(size.width));
    const float y1 = std::clamp(box.y, 0.f, static_cast<float>(size.height));
    const float x2 = std::clamp(box.x + box.width, 0.f, static_cast<float>(size.width));
    const float y2 = std::clamp(box.y + box.height, 0.f, static_cast<float>(size.height));
    return {x1, y1, std::max(0.f, x2 - x1), std::max(0.f, y2 - y1)};
}

std::vector<int> non_max_suppression(const std::vector<cv::Rect2f>& boxes, const std::vector<float>& scores,
                                     float iou_threshold) {
    if (boxes.size() != scores.size())
        throw Error(ErrorCode::invalid_argument, "non_max_suppression: boxes and scores differ in length");
    std::vector<int> order(boxes.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
    std::vector<int> kept;
    for (int candidate : order) {
        bool overlaps = false;
        for (int k : kept) {
            if (intersection_over_union(boxes[candidate], boxes[k]) > iou_threshold) {
                overlaps = true;
                break;
            }
        }
        if (!overlaps) kept.push_back(candidate);
    }
    return kept;
}

namespace {

constexpr int kInputWidth = 320;
constexpr int kInputHeight = 240;
// A tile of this many source pixels is shown to the network at half size, so a face of ~40 px
// eye-to-chin (a ~55 px box) still spans ~27 px, well above the smallest prior (10 px).
constexpr int kTileWidth = 640;
constexpr int kTileHeight = 480;
// The fallbacks' work grows with the image: the padded view is four times its area, and tiles cover
// it at full resolution. Above these bounds they look at a reduced copy instead, so a hostile
// 24 Mpx image without a face costs about a second, not eight. The padded view is shown to the
// network at a quarter of its size anyway (its face fills the frame); faces a reduced tiling
// misses are under ~70 px tall in such an image: too small to pass the quality check. (Every
// image of the LFW, spoof and sample sets, 3.5 Mpx at most, is below both bounds, so their
// figures are unaffected.)
constexpr double kPaddedViewFullAbovePixels = 4e6;  // above: padded from a copy of ...
constexpr double kPaddedViewReducedPixels = 1e6;    // ... this many pixels
constexpr int kMaxTiles = 48;

int tile_count(cv::Size size) {
    auto along = [](int length, int tile) { return length <= tile ? 1 : 1 + (length - tile + tile * 3 / 4 - 1) / (tile * 3 / 4); };
    return along(size.width, kTileWidth) * along(size.height, kTileHeight);
}

struct Candidate {
    cv::Rect2f box;
    float score;
};

class RfbFaceDetector final : public FaceDetector {
public:
    RfbFaceDetector(const ModelSet& models, const DetectorOptions& options)
        : net_(open_network(models, "fr_detect", {"boxes", "scores"})), options_(options) {}

    std::vector<Face> detect(const cv::Mat& bgr, int rotation) override {
        if (bgr.empty() || bgr.type() != CV_8UC3)
            throw Error(ErrorCode::invalid_argument, "detect: expected a non-empty 8-bit BGR image");
        std::vector<Face> faces;
        for (const Candidate& c : detect_upright(rotate_clockwise(bgr, rotation))) {
            Face face;
            face.box = box_from_rotated(c.box, bgr.size(), rotation);
            face.detection_score = c.score;
            face.rotation = rotation;
            faces.push_back(face);
        }
        return faces;
    }

private:
    // Whole image first; then, only while nothing is found, the padded and the tiled views.
    std::vector<Candidate> detect_upright(const cv::Mat& image) {
        std::vector<Candidate> found = run_view(image, {0, 0});
        if (found.empty() && options_.pad_tight_crops) found = detect_padded(image);
        if (found.empty() && options_.tile_large_images &&
            (image.cols > kTileWidth || image.rows > kTileHeight))
            found = detect_tiled(image);
        return finish(std::move(found), image.size());
    }

    // Runs find on a copy of image reduced by scale (< 1), boxes mapped back to image's pixels.
    template <class Find>
    std::vector<Candidate> on_reduced_copy(const cv::Mat& image, double scale, Find find) {
        const cv::Size size(std::max(1, static_cast<int>(image.cols * scale)), std::max(1, static_cast<int>(image.rows * scale)));
        cv::Mat reduced;
        cv::resize(image, reduced, size, 0, 0, cv::INTER_AREA);
        std::vector<Candidate> found = find(reduced);
        const float sx = static_cast<float>(image.cols) / size.width, sy = static_cast<float>(image.rows) / size.height;
        for (Candidate& c : found) c.box = cv::Rect2f(c.box.x * sx, c.box.y * sy, c.box.width * sx, c.box.height * sy);
        return found;
    }

    // A face filling the frame is larger than the largest prior; surround it with a neutral border.
    std::vector<Candidate> detect_padded(const cv::Mat& image) {
        const double pixels = static_cast<double>(image.total());
        if (pixels > kPaddedViewFullAbovePixels)
            return on_reduced_copy(image, std::sqrt(kPaddedViewReducedPixels / pixels),
                                   [this](const cv::Mat& copy) { return detect_padded(copy); });
        const int pad = std::max(image.cols, image.rows) / 2;
        cv::Mat padded;
        cv::copyMakeBorder(image, padded, pad, pad, pad, pad, cv::BORDER_CONSTANT, cv::mean(image));
        std::vector<Candidate> found = run_view(padded, {0, 0});
        for (Candidate& c : found) c.box -= cv::Point2f(static_cast<float>(pad), static_cast<float>(pad));
        return found;
    }

    std::vector<Candidate> detect_tiled(const cv::Mat& image) {
        if (tile_count(image.size()) > kMaxTiles) {
            double scale = std::sqrt(static_cast<double>(kMaxTiles) / tile_count(image.size()));
            auto reduced = [&] { return cv::Size(static_cast<int>(image.cols * scale), static_cast<int>(image.rows * scale)); };
            while (tile_count(reduced()) > kMaxTiles) scale *= 0.95;
            return on_reduced_copy(image, scale, [this](const cv::Mat& copy) { return detect_tiled(copy); });
        }
        std::vector<Candidate> found;
        const int step_x = kTileWidth * 3 / 4, step_y = kTileHeight * 3 / 4;
        for (int y = 0;; y += step_y) {
            const int y0 = std::min(y, std::max(0, image.rows - kTileHeight));
            for (int x = 0;; x += step_x) {
                const int x0 = std::min(x, std::max(0, image.cols - kTileWidth));
                const cv::Rect tile(x0, y0, std::min(kTileWidth, image.cols), std::min(kTileHeight, image.rows));
                std::vector<Candidate> in_tile = run_view(image(tile), tile.tl());
                found.insert(found.end(), in_tile.begin(), in_tile.end());
                if (x0 + kTileWidth >= image.cols) break;
            }
            if (y0 + kTileHeight >= image.rows) break;
        }
        return found;
    }

    // Letterboxes view into the 320x240 input (keeping its aspect ratio) and returns the faces in
    // the coordinates of the parent image (view origin at offset).
    std::vector<Candidate> run_view(const cv::Mat& view, cv::Point offset) {
        const double scale = std::min(static_cast<double>(kInputWidth) / view.cols,
                                      static_cast<double>(kInputHeight) / view.rows);
        const cv::Size scaled(std::max(1, static_cast<int>(view.cols * scale + 0.5)),
                              std::max(1, static_cast<int>(view.rows * scale + 0.5)));
        canvas_.create(kInputHeight, kInputWidth, CV_8UC3);
        if (scaled != canvas_.size()) canvas_.setTo(cv::Scalar(127, 127, 127));
        cv::resize(view, canvas_(cv::Rect({0, 0}, scaled)), scaled, 0, 0,
                   scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
        cv::Mat input = net_->input_buffer({1, 3, kInputHeight, kInputWidth});
        fill_input(input);
        net_->run(input, outputs_);

        const cv::Mat& boxes = outputs_[0];
        const cv::Mat& scores = outputs_[1];
        const int n = boxes.size[1];
        const float* b = boxes.ptr<float>();
        const float* s = scores.ptr<float>();
        std::vector<Candidate> found;
        for (int i = 0; i < n; ++i) {
            const float score = s[2 * i + 1];
            if (score < options_.score_threshold) continue;
            const float x1 = b[4 * i] * kInputWidth / static_cast<float>(scale);
            const float y1 = b[4 * i + 1] * kInputHeight / static_cast<float>(scale);
            const float x2 = b[4 * i + 2] * kInputWidth / static_cast<float>(scale);
            const float y2 = b[4 * i + 3] * kInputHeight / static_cast<float>(scale);
            if (x2 <= x1 || y2 <= y1) continue;
            found.push_back({cv::Rect2f(x1 + offset.x, y1 + offset.y, x2 - x1, y2 - y1), score});
        }
        return found;
    }

    // RGB planes, (x - 127) / 128 (exact in float either way), written straight into the
    // network's input buffer: OpenCV's vectorised split and conversion, instead of a per-pixel loop.
    void fill_input(cv::Mat& input) {
        cv::split(canvas_, planes_);  // B, G, R
        float* base = input.ptr<float>();
        for (int c = 0; c < 3; ++c) {
            cv::Mat plane(kInputHeight, kInputWidth, CV_32F, base + c * kInputWidth * kInputHeight);
            planes_[2 - c].convertTo(plane, CV_32F, 1.0 / 128.0, -127.0 / 128.0);
        }
    }

    std::vector<Candidate> finish(std::vector<Candidate> found, cv::Size size) const {
        std::vector<cv::Rect2f> boxes;
        std::vector<float> scores;
        for (Candidate& c : found) {
            c.box = clip_box(c.box, size);
            boxes.push_back(c.box);
            scores.push_back(c.score);
        }
        std::vector<Candidate> kept;
        for (int i : non_max_suppression(boxes, scores, options_.nms_iou)) {
            if (found[i].box.width >= 4 && found[i].box.height >= 4) kept.push_back(found[i]);
        }
        return kept;
    }

    std::unique_ptr<Network> net_;
    DetectorOptions options_;
    std::vector<cv::Mat> outputs_;
    cv::Mat canvas_;               // the letterboxed 320x240 view, reused
    std::vector<cv::Mat> planes_;  // its colour planes
};

}  // namespace

std::unique_ptr<FaceDetector> FaceDetector::create(const ModelSet& models, const DetectorOptions& options) {
    return std::make_unique<RfbFaceDetector>(models, options);
}

}  // namespace faceproof
