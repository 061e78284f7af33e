#include "liveness/planar_motion.hpp"

#include <cmath>

#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>

#include "faceproof/error.hpp"

namespace faceproof {

double eye_centre_distance(const std::vector<cv::Point2f>& points) {
    if (points.size() != 68) throw Error(ErrorCode::invalid_argument, "eye distance: 68 landmarks needed");
    cv::Point2f left(0, 0), right(0, 0);
    for (int i = 36; i < 42; ++i) left += points[i];
    for (int i = 42; i < 48; ++i) right += points[i];
    return cv::norm((left - right) * (1.0f / 6.0f));
}

double planar_residual(const std::vector<cv::Point2f>& reference, const std::vector<cv::Point2f>& moved) {
    if (reference.size() != moved.size())
        throw Error(ErrorCode::invalid_argument, "planar residual: point lists of different sizes");
    if (reference.size() < 4) throw Error(ErrorCode::invalid_argument, "planar residual: fewer than 4 points");
    double scale = 0;
    if (moved.size() == 68) {
        scale = eye_centre_distance(moved);
    } else {
        const cv::Rect2f span = cv::boundingRect(moved);
        scale = std::max(span.width, span.height);
    }
    if (!(scale > 0)) return -1;
    // Method 0: least squares over all points (no RANSAC): an outlier is exactly what we look for.
    const cv::Mat h = cv::findHomography(reference, moved, 0);
    if (h.empty()) return -1;
    std::vector<cv::Point2f> mapped;
    cv::perspectiveTransform(reference, mapped, h);
    double sum = 0;
    for (std::size_t i = 0; i < moved.size(); ++i) {
        const cv::Point2f d = mapped[i] - moved[i];
        sum += double(d.x) * d.x + double(d.y) * d.y;
    }
    const double rms = std::sqrt(sum / double(moved.size()));
    return std::isfinite(rms) ? rms / scale : -1;
}

}  // namespace faceproof
