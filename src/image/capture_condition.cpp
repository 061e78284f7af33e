#include "image/capture_condition.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace faceproof {
cv::Mat to_grey(const cv::Mat& image) {
    cv::Mat grey;
    if (image.channels() == 3) cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
    else if (image.channels() == 4) cv::cvtColor(image, grey, cv::COLOR_BGRA2GRAY);
    else grey = image;
    return grey;
}

double sharpness_of(const cv::Mat& grey) {
    if (grey.empty()) return 0;
    const double scale = 128.0 / grey.cols;
    cv::Mat resized, laplacian;
    cv::resize(grey, resized, cv::Size(128, std::max(1, static_cast<int>(std::lround(grey.rows * scale)))), 0, 0,
               scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::Laplacian(resized, laplacian, CV_64F);
    cv::Scalar mean, deviation;
    cv::meanStdDev(laplacian, mean, deviation);
    return deviation[0] * deviation[0];
}

std::string exposure_condition(const cv::Mat& grey, const cv::Mat& mask) {
    if (grey.empty()) return {};
    const double luma = cv::mean(grey, mask)[0];
    if (luma < kTooDarkLuma) return "too_dark";
    cv::Mat clipped = grey >= 250;
    if (!mask.empty()) clipped &= mask;
    const double area = mask.empty() ? static_cast<double>(grey.total()) : static_cast<double>(cv::countNonZero(mask));
    if (luma > kTooBrightLuma || (area > 0 && cv::countNonZero(clipped) / area > kClippedShareTooBright))
        return "too_bright";
    return {};
}

std::string capture_condition(const cv::Mat& image, const cv::Mat& mask) {
    if (image.empty() || image.depth() != CV_8U) return {};
    const cv::Mat grey = to_grey(image);
    if (std::string exposure = exposure_condition(grey, mask); !exposure.empty()) return exposure;
    if (sharpness_of(grey) < kBlurredSharpness) return "blurred";
    return {};
}

std::string describe_capture_condition(const std::string& condition) {
    if (condition == "too_dark") return "the image is too dark";
    if (condition == "too_bright") return "the image is too bright (over-exposed)";
    if (condition == "blurred") return "the image is blurred";
    return {};
}

}  // namespace faceproof
