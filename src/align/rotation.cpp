#include "align/rotation.hpp"

#include <algorithm>

#include <opencv2/core.hpp>

#include "faceproof/error.hpp"

namespace faceproof {
namespace {

void check_degrees(int degrees) {
    if (degrees != 0 && degrees != 90 && degrees != 180 && degrees != 270)
        throw Error(ErrorCode::invalid_argument, "rotation must be 0, 90, 180 or 270 degrees");
}

cv::Rect2f bounding(cv::Point2f a, cv::Point2f b) {
    return {std::min(a.x, b.x), std::min(a.y, b.y), std::abs(a.x - b.x), std::abs(a.y - b.y)};
}

}  // namespace

cv::Mat rotate_clockwise(const cv::Mat& image, int degrees) {
    check_degrees(degrees);
    if (degrees == 0) return image;
    cv::Mat out;
    cv::rotate(image, out,
               degrees == 90 ? cv::ROTATE_90_CLOCKWISE
               : degrees == 180 ? cv::ROTATE_180
                                : cv::ROTATE_90_COUNTERCLOCKWISE);
    return out;
}

cv::Point2f to_rotated(cv::Point2f p, cv::Size s, int degrees) {
    check_degrees(degrees);
    const float w = static_cast<float>(s.width), h = static_cast<float>(s.height);
    switch (degrees) {
        case 90: return {h - p.y, p.x};
        case 180: return {w - p.x, h - p.y};
        case 270: return {p.y, w - p.x};
        default: return p;
    }
}

cv::Point2f from_rotated(cv::Point2f p, cv::Size s, int degrees) {
    check_degrees(degrees);
    const float w = static_cast<float>(s.width), h = static_cast<float>(s.height);
    switch (degrees) {
        case 90: return {p.y, h - p.x};
        case 180: return {w - p.x, h - p.y};
        case 270: return {w - p.y, p.x};
        default: return p;
    }
}

cv::Rect2f box_from_rotated(const cv::Rect2f& box, cv::Size original, int degrees) {
    return bounding(from_rotated(box.tl(), original, degrees), from_rotated(box.br(), original, degrees));
}

cv::Rect2f box_to_rotated(const cv::Rect2f& box, cv::Size original, int degrees) {
    return bounding(to_rotated(box.tl(), original, degrees), to_rotated(box.br(), original, degrees));
}

}  // namespace faceproof
