// Measures of the pixels of the face region: sharpness, exposure, dynamic range, illumination.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "quality/measures.hpp"
#include "quality/scoring.hpp"

namespace faceproof {
namespace {

// Histogram of the face region's luminance (256 bins) and its pixel count.
struct FaceHistogram {
    std::array<double, 256> bins{};
    double total = 0;

    double share_above(int level) const {
        double n = 0;
        for (int i = level + 1; i < 256; ++i) n += bins[i];
        return total > 0 ? n / total : 0;
    }
    // Smallest level with at least q of the pixels at or below it.
    int percentile(double q) const {
        double n = 0;
        for (int i = 0; i < 256; ++i) {
            n += bins[i];
            if (n >= q * total) return i;
        }
        return 255;
    }
};

FaceHistogram face_histogram(const QualitySession& context) {
    FaceHistogram h;
    const cv::Mat& grey = context.aligned_grey();
    const cv::Mat& mask = context.face_mask();
    for (int y = 0; y < grey.rows; ++y) {
        const auto* g = grey.ptr<std::uint8_t>(y);
        const auto* m = mask.ptr<std::uint8_t>(y);
        for (int x = 0; x < grey.cols; ++x)
            if (m[x]) h.bins[g[x]] += 1;
    }
    for (double b : h.bins) h.total += b;
    return h;
}

}  // namespace

// sharpness: the share of fine detail in the face's texture (unit "ratio"): the variance of the
// Laplacian of the aligned luminance, smoothed with sigma 0.7 px, over the variance of its
// band-pass residual (luminance minus a Gaussian blur of sigma 4 px), both inside the face outline.
// - The aligned crop has a fixed scale (ArcFace template, 35 px between the eyes), so the value
//   compares across face sizes and measures the detail the recogniser gets.
// - Dividing by the coarse band makes it independent of contrast and smooth lighting gradients
//   (a copy darkened to 1/4 keeps its value; the plain Laplacian variance fell from 127 to 10).
// - The 0.7 px smoothing keeps 8-bit rounding noise out: without it a heavily blurred face read
//   as sharp (the Laplacian variance of rounding noise alone is ~1.7, as much as what such a blur
//   leaves), with it the value falls monotonically with the blur.
// Score rising from 0 at 0.03 to 100 at 0.25.
MeasureResult Sharpness::assess(const QualitySession& context, const Thresholds& t) const {
    if (!context.aligned_ok()) return failed_to_assess(context.alignment_failure());
    cv::Mat grey, fine, coarse, laplacian;
    context.aligned_grey().convertTo(grey, CV_32F);
    cv::GaussianBlur(grey, fine, {0, 0}, 0.7);
    cv::Laplacian(fine, laplacian, CV_32F, 1);
    cv::GaussianBlur(grey, coarse, {0, 0}, 4.0);
    cv::Scalar mean, detail, band;
    cv::meanStdDev(laplacian, mean, detail, context.face_mask());
    cv::meanStdDev(grey - coarse, mean, band, context.face_mask());
    const double value = detail[0] * detail[0] / std::max(1.0, band[0] * band[0]);
    return judged(value, "ratio", scoring::rising(value, 0.03, 0.25), value >= t.min_sharpness, "BLURRY");
}

MeasureResult UnderExposure::assess(const QualitySession& context, const Thresholds& t) const {
    if (!context.aligned_ok()) return failed_to_assess(context.alignment_failure());
    const double highlights = face_histogram(context).percentile(0.90);
    return judged(highlights, "grey levels", scoring::rising(highlights, 40, 140),
                  highlights >= t.min_highlight_level, "TOO_DARK");
}

MeasureResult OverExposure::assess(const QualitySession& context, const Thresholds& t) const {
    if (!context.aligned_ok()) return failed_to_assess(context.alignment_failure());
    const double share = face_histogram(context).share_above(kBrightLevel);
    return judged(share, "ratio", scoring::falling(share, 0, 0.5), share <= t.max_bright_share, "TOO_BRIGHT");
}

MeasureResult DynamicRange::assess(const QualitySession& context, const Thresholds& t) const {
    if (!context.aligned_ok()) return failed_to_assess(context.alignment_failure());
    const FaceHistogram h = face_histogram(context);
    const double spread = h.percentile(0.95) - h.percentile(0.05);
    return judged(spread, "grey levels", scoring::rising(spread, 0, 128), spread >= t.min_dynamic_range,
                  "LOW_CONTRAST");
}

MeasureResult IlluminationUniformity::assess(const QualitySession& context, const Thresholds& t) const {
    if (!context.aligned_ok()) return failed_to_assess(context.alignment_failure());
    const cv::Mat& grey = context.aligned_grey();
    const cv::Mat& mask = context.face_mask();
    const int half = grey.cols / 2;
    const cv::Rect left(0, 0, half, grey.rows), right(half, 0, grey.cols - half, grey.rows);
    if (cv::countNonZero(mask(left)) == 0 || cv::countNonZero(mask(right)) == 0)
        return failed_to_assess("one half of the face is outside the image");
    const double l = cv::mean(grey(left), mask(left))[0], r = cv::mean(grey(right), mask(right))[0];
    const double ratio = std::max(l, r) > 0 ? std::min(l, r) / std::max(l, r) : 1.0;
    return judged(ratio, "ratio", 100.0 * ratio, ratio >= t.min_illumination_ratio, "UNEVEN_LIGHTING");
}

}  // namespace faceproof
