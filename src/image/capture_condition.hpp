// Capture conditions that keep a face from being found or used: too dark, too bright
// (over-exposed), blurred. Used to say *why* a frame has no usable face, so the person can fix it
// (a no_face error, a liveness session's unusable frames) instead of a bare "no face".
//
// capture_condition(bgr, mask)
//   requires: 8-bit, 1, 3 or 4 channels; mask empty (whole image) or CV_8U of the image's size.
//   ensures:  "too_dark" when the mean luma is below kTooDarkLuma; "too_bright" when it is above
//             kTooBrightLuma or more than half the pixels are clipped (>= 250); "blurred" when the
//             sharpness is below kBlurredSharpness; else "" (the conditions look fine).
// sharpness_of(grey)
//   ensures: the variance of the Laplacian of grey scaled to 128 px wide (0 when empty), so the
//            figure does not depend on the image size.
// describe_capture_condition("too_bright") -> "the image is too bright (over-exposed)"; "" for "".
// Thread safety: pure and reentrant.
#pragma once

#include <string>

#include <opencv2/core.hpp>

namespace faceproof {

// Measured on the face-api samples (face luma 90-170; sharpness of faces 17-228) and on darkened,
// brightened and blurred copies of them (blurred 2-3.5): tests/test_liveness_session.cpp.
constexpr double kTooDarkLuma = 40;
constexpr double kTooBrightLuma = 220;
constexpr double kClippedShareTooBright = 0.5;
constexpr double kBlurredSharpness = 8;

std::string capture_condition(const cv::Mat& image, const cv::Mat& mask = cv::Mat());
std::string exposure_condition(const cv::Mat& grey, const cv::Mat& mask = cv::Mat());  // without the blur test
double sharpness_of(const cv::Mat& grey);
// 8-bit grey of a 1, 3 (BGR) or 4 (BGRA) channel image (the same Mat when already grey).
cv::Mat to_grey(const cv::Mat& image);
std::string describe_capture_condition(const std::string& condition);

}  // namespace faceproof
