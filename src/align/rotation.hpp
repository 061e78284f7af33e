// Quarter-turn rotations of an image and of points between the two frames.
// Coordinates are continuous (pixel edges), so a box maps exactly onto a box.
#pragma once

#include <opencv2/core.hpp>

namespace faceproof {

// Rotates clockwise by degrees (0, 90, 180, 270); 0 returns the same Mat (no copy).
cv::Mat rotate_clockwise(const cv::Mat& image, int degrees);
// A point of the original image (of size original) -> the rotated image, and back.
cv::Point2f to_rotated(cv::Point2f p, cv::Size original, int degrees);
cv::Point2f from_rotated(cv::Point2f p, cv::Size original, int degrees);
cv::Rect2f box_from_rotated(const cv::Rect2f& box, cv::Size original, int degrees);
cv::Rect2f box_to_rotated(const cv::Rect2f& box, cv::Size original, int degrees);

}  // namespace faceproof
