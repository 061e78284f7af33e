// Text for the PNG plots (ROC, DET), which OpenCV's putText alone does not give: alignment and
// vertical axis titles.
#pragma once

#include <string>

#include <opencv2/core.hpp>

namespace faceproof::plot {

inline const cv::Scalar kTextColour(40, 40, 40);

// Draws s with its anchor at (x, baseline y); align -1 left, 0 centre, +1 right.
void text(cv::Mat& img, const std::string& s, cv::Point at, double scale, const cv::Scalar& colour,
          int align = -1, int thickness = 1);
// Rotated 90° counter-clockwise, centred on centre (an axis title).
void vertical_text(cv::Mat& img, const std::string& s, cv::Point centre, double scale);

}  // namespace faceproof::plot
