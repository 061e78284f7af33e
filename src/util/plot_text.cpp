#include "util/plot_text.hpp"

#include <opencv2/imgproc.hpp>

namespace faceproof::plot {
namespace {
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
}

void text(cv::Mat& img, const std::string& s, cv::Point at, double scale, const cv::Scalar& colour, int align,
          int thickness) {
    int base = 0;
    const cv::Size sz = cv::getTextSize(s, kFont, scale, thickness, &base);
    at.x -= align < 0 ? 0 : align == 0 ? sz.width / 2 : sz.width;
    cv::putText(img, s, at, kFont, scale, colour, thickness, cv::LINE_AA);
}

// OpenCV cannot draw rotated text: render it on a strip and rotate the strip into place.
void vertical_text(cv::Mat& img, const std::string& s, cv::Point centre, double scale) {
    int base = 0;
    const cv::Size sz = cv::getTextSize(s, kFont, scale, 1, &base);
    cv::Mat strip(sz.height + base + 4, sz.width + 4, img.type(), cv::Scalar::all(255));
    cv::putText(strip, s, {2, sz.height + 2}, kFont, scale, kTextColour, 1, cv::LINE_AA);
    cv::rotate(strip, strip, cv::ROTATE_90_COUNTERCLOCKWISE);
    const cv::Rect place(centre.x - strip.cols / 2, centre.y - strip.rows / 2, strip.cols, strip.rows);
    const cv::Rect inside = place & cv::Rect(0, 0, img.cols, img.rows);
    strip(inside - place.tl()).copyTo(img(inside));
}

}  // namespace faceproof::plot
