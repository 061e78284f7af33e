// Planar-motion check of challenge liveness: does a set of landmarks move like points of one plane?
//
// A printed or displayed photo that is tilted in front of the camera moves all its points by one
// homography; a real head turning moves the nose, the eyes and the jaw line by different amounts
// (parallax), which no homography reproduces.
//
// planar_residual(reference, moved)
//   requires: two point lists of the same size (>= 4; the 68 landmarks), finite, not all collinear.
//   ensures:  the RMS distance between moved and the least-squares homography (cv::findHomography,
//             method 0) applied to reference, divided by the inter-eye distance of moved (centres of
//             points 36-41 and 42-47 when there are 68 points, else the span of the points): a
//             number that is small for a flat surface. Returns -1 when the fit is degenerate.
//   throws:   Error{invalid_argument} when the sizes differ or there are fewer than 4 points.
// Thread safety: pure and reentrant.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

namespace faceproof {

double planar_residual(const std::vector<cv::Point2f>& reference, const std::vector<cv::Point2f>& moved);

// The distance between the centres of the two eyes (points 36-41 and 42-47 of the 68).
// requires: points.size() == 68.
double eye_centre_distance(const std::vector<cv::Point2f>& points);

}  // namespace faceproof
