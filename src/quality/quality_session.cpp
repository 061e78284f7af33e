#include "quality/quality_session.hpp"

#include <cstdint>
#include <exception>
#include <stdexcept>

#include <opencv2/imgproc.hpp>

#include "align/aligner.hpp"

namespace faceproof {

QualitySession::QualitySession(const FaceContext& face) : face_(face), alignment_failure_(face.alignment_failure()) {
    if (!face_.has_face() || face_.aligned().empty()) {
        if (alignment_failure_.empty()) alignment_failure_ = "the face could not be aligned";
        return;
    }
    try {
        measure_region();
    } catch (const std::exception& e) {
        aligned_grey_.release();
        face_mask_.release();
        alignment_failure_ = std::string("alignment failed: ") + e.what();
    }
}

// The crop's luminance and, with the crop's transform, the face outline and the part of the crop
// that lies inside the image (the crop is padded with black outside it).
void QualitySession::measure_region() {
    const Face& face = face_.face();
    const cv::Mat& image = face_.image();
    cv::cvtColor(face_.aligned(), aligned_grey_, cv::COLOR_BGR2GRAY);
    const cv::Matx23d m = similarity_transform(face.landmarks5.data(), arcface_template_112().data(), 5);

    // Jaw 0..16, then the brows 26..17: a closed outline of the face below the forehead.
    std::vector<cv::Point> outline;
    auto add = [&](int i) {
        const cv::Point2f p = face.landmarks68[i];
        outline.emplace_back(cvRound(m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2)),
                             cvRound(m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)));
    };
    for (int i = 0; i <= 16; ++i) add(i);
    for (int i = 26; i >= 17; --i) add(i);
    face_mask_ = cv::Mat::zeros(kAlignedSide, kAlignedSide, CV_8U);
    cv::fillPoly(face_mask_, std::vector<std::vector<cv::Point>>{outline}, cv::Scalar(255));

    // Crop pixels whose source lies inside the image, shrunk by 2 px so that the edge of the black
    // padding never counts as face detail.
    cv::Matx23d to_image;
    cv::invertAffineTransform(m, to_image);
    cv::Mat inside(kAlignedSide, kAlignedSide, CV_8U);
    for (int y = 0; y < kAlignedSide; ++y) {
        auto* row = inside.ptr<std::uint8_t>(y);
        for (int x = 0; x < kAlignedSide; ++x) {
            const double sx = to_image(0, 0) * x + to_image(0, 1) * y + to_image(0, 2);
            const double sy = to_image(1, 0) * x + to_image(1, 1) * y + to_image(1, 2);
            row[x] = (sx >= 0 && sy >= 0 && sx <= image.cols - 1 && sy <= image.rows - 1) ? 255 : 0;
        }
    }
    cv::erode(inside, inside, cv::Mat(), cv::Point(-1, -1), 2, cv::BORDER_CONSTANT, cv::Scalar(255));
    face_mask_ &= inside;
    if (cv::countNonZero(face_mask_) < kAlignedSide * kAlignedSide / 20)
        throw std::runtime_error("the face region inside the image is too small to assess");
}

}  // namespace faceproof
